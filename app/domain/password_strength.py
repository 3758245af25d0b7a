"""The password rule: 12 to 128 characters, not the user's names nor only Periop's words, hard to guess."""

import re
import threading

from zxcvbn import zxcvbn

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128
# zxcvbn's score 3: at least 10^8 guesses ("safely unguessable" for an online attacker, and
# some protection if the hashes leak); 0-2 are refused.
MIN_SCORE = 3
# zxcvbn's time grows with the square of the length: a crafted 128-character password takes
# 5-6 s on our 2-core machine, its first 40 characters under a second (typical passwords take
# 2-20 ms). A password whose first 40 characters are hard to guess is hard to guess.
ESTIMATE_LENGTH = 40
# Words an attacker who knows where the password is used tries first.
CONTEXT_WORDS = (
    "periop",
    "perioperative",
    "spine",
    "spinal",
    "surgery",
    "surgeon",
    "surgical",
    "hospital",
    "clinic",
    "theatre",
    "patient",
    "lumbar",
    "fbss",
)
# Name parts at least this long may not appear in the password (shorter ones only weaken it).
MIN_NAME_PART = 4

# zxcvbn keeps the user's words in a module-level dictionary during each call: one call at a time.
_estimator = threading.Lock()


def password_problem(password: str, username: str = "", full_name: str = "") -> str | None:
    """Say why a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    lowered = password.lower()
    username = username.strip().lower()
    if username and username in lowered:
        return "Do not use your username in your password."
    names = _words(full_name)
    if any(len(name) >= MIN_NAME_PART and name in lowered for name in names):
        return "Do not use your name in your password."
    user_inputs = [w for w in (username, *_words(username), *names, "".join(names), *CONTEXT_WORDS) if w]
    if not re.search(r"[^\W\d_]", _without(lowered, user_inputs)):
        # zxcvbn counts each extra piece as 10^4 guesses, so "periop-hospital" would pass; but
        # someone guessing for this site tries its own words first.
        return (
            "Add words of your own: your name and words about your work (Periop, spine, hospital…) "
            "with digits and symbols are tried first."
        )
    with _estimator:
        estimate = zxcvbn(password[:ESTIMATE_LENGTH], user_inputs=user_inputs)
    if estimate["score"] >= MIN_SCORE:
        return None
    return _advice(estimate)


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\W_]+", text.lower()) if w]


def _without(text: str, words: list[str]) -> str:
    """The text with every one of the words taken out, the longest first."""
    for word in sorted(words, key=len, reverse=True):
        text = text.replace(word, " ")
    return text


def _advice(estimate: dict) -> str:
    """zxcvbn's own feedback, in sentences, after saying what is wrong."""
    feedback = estimate["feedback"]
    sentences = ["This password is too easy to guess."]
    if feedback["warning"]:
        sentences.append(feedback["warning"])
    if any(match.get("dictionary_name") == "user_inputs" for match in estimate["sequence"]):
        sentences.append(
            "Words about you or your work (your name, Periop, spine, hospital…) are tried first."
        )
    sentences.extend(feedback["suggestions"])
    return " ".join(sentences)
