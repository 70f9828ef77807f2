"""One-time codes: how they are made, how they are kept, how a guess is compared.

The machine never keeps a live code in the clear: it keeps an HMAC-SHA256 digest under a key
drawn once per process, so a memory dump or a stray repr() does not hand out the code, and a
guess is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_SEPARATORS = re.compile(r"[\s\-]+")
_ASCII_DIGITS = re.compile(r"[0-9]+")
_NOT_DIGITS = re.compile(r"[^0-9]")
# A run of digits, with at most one space or dash between two digits ("123 456", "123-456").
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9](?:[ \-]?[0-9])*(?![0-9])")


class OneTimeCode:
    """A freshly generated code on its way to the mailer.

    Its repr and str are masked, so it cannot leak into a log line, a traceback or an outcome
    printed while debugging; only `reveal()` gives the digits, and only the mail message calls it.
    """

    __slots__ = ("_digits",)

    def __init__(self, digits: str) -> None:
        self._digits = digits

    def reveal(self) -> str:
        return self._digits

    def __len__(self) -> int:
        return len(self._digits)

    def __repr__(self) -> str:
        return f"OneTimeCode({'*' * len(self._digits)})"

    __str__ = __repr__


def generate_code(length: int) -> OneTimeCode:
    """Uniform over all 10**length digit strings, leading zeros included."""
    if length < 1:
        raise ValueError("a code needs at least one digit")
    return OneTimeCode(f"{secrets.randbelow(10**length):0{length}d}")


def normalise_code(text: str, length: int) -> str | None:
    """Drop spaces and dashes (people paste `123 456` and `123-456`); None if not `length` digits.

    Only ASCII digits count: `str.isdigit` would let other scripts' digits through.
    """
    candidate = _SEPARATORS.sub("", text)
    if len(candidate) == length and _ASCII_DIGITS.fullmatch(candidate):
        return candidate
    return None


def code_in_text(text: str, length: int) -> str | None:
    """The code a typed or pasted text holds, as every front end reads it: the whole text as a
    code (`normalise_code`), else its one run of exactly `length` digits, with at most one
    space or dash between two digits, in a sentence ("Your code is 123 456"). None when there
    is no such run, or more than one (which one was meant is not ours to guess)."""
    whole = normalise_code(text, length)
    if whole is not None:
        return whole
    runs = [_NOT_DIGITS.sub("", run) for run in _DIGIT_RUN.findall(text)]
    fitting = [run for run in runs if len(run) == length]
    return fitting[0] if len(fitting) == 1 else None


class CodeKeeper:
    """Holds at most one live code, as a keyed digest, and answers whether a guess matches it."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)
        self._digest: bytes | None = None

    def _digest_of(self, digits: str) -> bytes:
        return hmac.new(self._key, digits.encode("ascii"), hashlib.sha256).digest()

    def keep(self, code: OneTimeCode) -> None:
        """Make `code` the one live code; whatever was live before stops working."""
        self._digest = self._digest_of(code.reveal())

    def discard(self) -> None:
        self._digest = None

    @property
    def holding(self) -> bool:
        return self._digest is not None

    def matches(self, digits: str) -> bool:
        if self._digest is None:
            return False
        return hmac.compare_digest(self._digest, self._digest_of(digits))

    def __repr__(self) -> str:
        return f"CodeKeeper(holding={self.holding})"
