"""What text Periop stores: no control characters, whatever field or search it comes from."""

import unicodedata

# Line breaks and tabs belong in notes and reasons (multi-line text), nowhere else.
MULTILINE_ALLOWED = frozenset("\t\n\r")
# Bidirectional embeddings, overrides and isolates can make a record read differently from what
# it holds (a name that displays reversed); format characters such as the zero-width joiner
# needed by emoji and some scripts are kept.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
CONTROL_MESSAGE = "Remove the control characters (such as NUL) from this text."


def control_character(text: str, multiline: bool = False) -> str | None:
    """The first character Periop refuses to store in this text, or None when there is none."""
    for char in text:
        if multiline and char in MULTILINE_ALLOWED:
            continue
        if char in BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs"):
            return char
    return None


def text_problem(text: str | None, multiline: bool = False) -> str | None:
    """Why a text cannot be stored as typed, or None."""
    if text and control_character(text, multiline) is not None:
        return CONTROL_MESSAGE
    return None


def shortened(text: str, limit: int = 60) -> str:
    """A text cut to `limit` characters with an ellipsis (a step title in an audit summary)."""
    return text if len(text) <= limit else text[: limit - 3] + "…"
