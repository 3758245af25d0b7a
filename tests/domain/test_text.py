"""Text Periop stores: control characters are refused, line breaks only where text has lines."""

import pytest

from app.domain.text import CONTROL_MESSAGE, control_character, text_problem


@pytest.mark.parametrize(
    "text", ["a\x00b", "\x1b[31m", "x\x7f", "tab\there", "line\nbreak", "\u202eevil", "\x85"]
)
def test_one_line_text_refuses_control_characters(text):
    assert text_problem(text) == CONTROL_MESSAGE


@pytest.mark.parametrize("text", ["line\nbreak", "crlf\r\n", "tab\there"])
def test_multi_line_text_keeps_line_breaks_and_tabs(text):
    assert text_problem(text, multiline=True) is None


@pytest.mark.parametrize("text", ["a\x00b", "\u2066isolate", "\x0c"])
def test_multi_line_text_still_refuses_other_control_characters(text):
    assert text_problem(text, multiline=True) == CONTROL_MESSAGE


@pytest.mark.parametrize(
    "text", ["", "Ñúñez-O'Brien", "李小龙", "👩‍⚕️ family emoji joined", "Zoë\u200dx", None]
)
def test_ordinary_unicode_is_kept(text):
    assert text_problem(text) is None


def test_the_first_refused_character_is_named():
    assert control_character("ok\x00\x01") == "\x00"
    assert control_character("fine") is None
