"""Text from outside never reaches a terminal able to act."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otp_tui.core.untrusted import visible

HOSTILE = [
    "\x1b]0;owned\x07",  # window title
    "\x1b]52;c;aGk=\x07",  # clipboard write
    "\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",  # hyperlink
    "\x1b[2J\x1b[?1049l",  # clear, leave the alternate screen
    "\x9b31m",  # C1 CSI
    "\x90qdcs\x9c",  # C1 DCS
    "\u202egnp.exe",  # bidi override
    "a\u200bb",  # zero width space
    "line\u2028break",
    "cr\rover",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_no_control_or_format_character_survives(text):
    shown = visible(text)
    assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in shown)
    for hidden in ("\u202e", "\u200b", "\u2028"):
        assert hidden not in shown


def test_escapes_are_readable_and_plain_text_is_untouched():
    assert visible("\x1b[2J") == "\\x1b[2J"
    assert visible("\u202e") == "\\u202e"
    assert visible("Grüße, 東京 ✓") == "Grüße, 東京 ✓"


def test_newlines_kept_only_when_asked():
    assert visible("a\nb") == "a\\x0ab"
    assert visible("a\nb\r\n", keep_newlines=True) == "a\nb\\x0d\n"


@given(st.text())
def test_any_text_comes_out_without_terminal_controls(text):
    shown = visible(text, keep_newlines=True)
    assert not any(
        (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029\u202e"
        for c in shown
    )
