"""The helper's side of the relay protocol (`pam/PROTOCOL.md`): lines on stdin and stdout.

Everything read is bounded (a line, the opening block) and anything unexpected is a
`ProtocolError`; everything written is cleaned and cut to what the module accepts, so a
message can never be the reason the module refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Literal

from otp_tui.core.untrusted import visible

VERSION_LINE = b"otp-tui-pam 1"
LINE_MAX = 1024  # bytes with the LF, both ways (the module's limit)
# What one text may take: the line less its word, the space and the LF, with room to spare.
TEXT_MAX = LINE_MAX - 32
_FACTS = ("user", "service", "rhost", "tty")

Verdict = Literal["verified", "allowed", "denied"]


class ProtocolError(Exception):
    """The module said something this side does not understand, or went away."""


@dataclass(frozen=True)
class Facts:
    """What only PAM knows, as the module sent it (already cleaned of control characters)."""

    user: str
    service: str
    rhost: str  # "" when PAM_RHOST was unset (sudo, su)
    tty: str


def _fit(text: str) -> str:
    """One line for the module: control and format characters (bidi overrides, zero-width
    ones, line separators) shown as escapes by the one rule for text from outside, at most
    TEXT_MAX bytes, never cut inside a character."""
    line = visible(text)
    data = line.encode("utf-8")
    if len(data) <= TEXT_MAX:
        return line
    return data[:TEXT_MAX].decode("utf-8", "ignore")


class Channel:
    def __init__(self, reader: BinaryIO, writer: BinaryIO) -> None:
        self._reader = reader
        self._writer = writer

    def _read_line(self) -> str:
        data = self._reader.readline(LINE_MAX)
        if not data:
            raise ProtocolError("the module closed the conversation")
        if not data.endswith(b"\n"):
            raise ProtocolError("a line from the module is too long or unfinished")
        try:
            return data[:-1].decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("a line from the module is not UTF-8") from None

    def _write(self, word: str, text: str | None = None) -> None:
        line = word if text is None else f"{word} {_fit(text)}"
        try:
            self._writer.write(line.encode("utf-8") + b"\n")
            self._writer.flush()
        except OSError:  # the module closed the socket (the client went away)
            raise ProtocolError("the module closed the conversation") from None

    def read_facts(self) -> Facts:
        """The opening block: the version, then exactly the four facts in order, then `end`."""
        if self._read_line().encode() != VERSION_LINE:
            raise ProtocolError("the module speaks another protocol version")
        values = []
        for name in _FACTS:
            word, _, value = self._read_line().partition(" ")
            if word != name:
                raise ProtocolError("the module's opening block is out of order")
            values.append(value)
        if self._read_line() != "end":
            raise ProtocolError("the module's opening block does not end")
        return Facts(*values)

    def say(self, text: str, *, error: bool = False) -> None:
        """Each line of `text` as an info (or error) message."""
        for line in text.splitlines():
            if line.strip():
                self._write("error" if error else "info", line)

    def ask(self, prompt: str, *, echo: bool = False) -> str:
        """The person's answer to `prompt` (as the module cleaned it)."""
        self._write("prompt-echo" if echo else "prompt", prompt)
        word, _, answer = self._read_line().partition(" ")
        if word != "answer":
            raise ProtocolError("the module sent something other than an answer")
        return answer

    def verdict(self, verdict: Verdict) -> None:
        self._write(verdict)
