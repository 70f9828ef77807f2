"""What the helper writes to the PAM module: every line cleaned on this side too.

The module cleans what it relays (pam/PROTOCOL.md, "Cleaning"); the helper's own cleaning is
the one rule for text from outside, `otp_tui.core.untrusted.visible`, so a control or format
character in an address, a server's reply or a translation is shown as an escape, never sent.
The lines go over a real socket pair, as between the module and the helper.
"""

from __future__ import annotations

import socket
import unicodedata
from collections.abc import Iterator

import pytest

from otp_tui.converse.channel import LINE_MAX, Channel

# Each acts on a terminal or makes text read as something it is not: ESC (an escape sequence),
# BEL, the one-byte CSI U+009B, a right-to-left override, a zero-width space, a left-to-right
# isolate and its end, a byte-order mark, a soft hyphen, the Arabic letter mark.
HOSTILE = (
    "a\x1b[2Jb\x07c\x9bd\u202ee\u200bf\u2066g\u2069h\ufeffi\u00adj\u061ck "
    "alice@example.com\u202e\u2066moc.elpmaxe@evil"
)
ACTING = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


@pytest.fixture
def wire() -> Iterator[tuple[Channel, socket.socket]]:
    """A Channel on one end of a socket pair; the test reads and writes the other end."""
    ours, theirs = socket.socketpair()
    reader, writer = theirs.makefile("rb"), theirs.makefile("wb")
    ours.settimeout(5)
    yield Channel(reader, writer), ours
    for each in (reader, writer, theirs, ours):
        each.close()


def received(ours: socket.socket) -> list[str]:
    data = b""
    while not data.endswith(b"\n"):
        data += ours.recv(65536)
    return data.decode("utf-8").splitlines()


def test_messages_and_prompts_carry_no_control_or_format_character(wire) -> None:
    channel, ours = wire
    channel.say(HOSTILE)
    channel.say(HOSTILE, error=True)
    ours.sendall(b"answer 1\n")
    assert channel.ask(HOSTILE) == "1"
    lines = received(ours)
    assert [line.split(" ", 1)[0] for line in lines] == ["info", "error", "prompt"]
    for line in lines:
        assert len(line.encode()) < LINE_MAX
        acting = [hex(ord(char)) for char in line if unicodedata.category(char) in ACTING]
        assert acting == [], line
        # Shown, not dropped: the person can see that something was there.
        assert "\\u202e" in line
        assert "\\u200b" in line
        assert "\\x1b[2J" in line
        assert "alice@example.com" in line


def test_a_line_separator_never_rides_inside_one_line(wire) -> None:
    channel, ours = wire
    channel.say("first\u2028second\u2029third\x85fourth")
    lines = received(ours)
    while len(lines) < 4:
        lines += received(ours)
    assert lines == ["info first", "info second", "info third", "info fourth"]


def test_a_long_text_is_cut_to_the_modules_limit_at_a_character(wire) -> None:
    channel, ours = wire
    channel.say("é" * LINE_MAX)
    (line,) = received(ours)
    assert len(line.encode()) < LINE_MAX
    assert set(line.removeprefix("info ")) == {"é"}
