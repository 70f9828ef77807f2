"""What each event of the verification machine answers: plain values a screen renders as is.

Screens switch on the type and show the fields; they never recompute a rule (no second copy of
"attempts left" arithmetic anywhere else).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from otp_tui.core.codes import OneTimeCode

FailReason = Literal["expired", "refused", "cancelled", "interrupted"]


# Answers to an address
@dataclass(frozen=True)
class InvalidAddress:
    message: str


@dataclass(frozen=True)
class NotAllowed:
    message: str


@dataclass(frozen=True)
class CodeStillValid:
    """The address the live code went to: back to entering that code, nothing sent."""

    address: str
    expires_in: float


# Answers that start a send
@dataclass(frozen=True)
class SendCode:
    """Mail `code` to `address` now, then report `send_succeeded` or `send_failed`."""

    address: str
    code: OneTimeCode  # masked repr; `reveal()` only when building the message
    ttl: float  # seconds the code will be valid once sent


@dataclass(frozen=True)
class CooldownActive:
    seconds_left: float


@dataclass(frozen=True)
class ResendsExhausted:
    pass


@dataclass(frozen=True)
class TooManySends:
    """The address's hourly send budget, shared by every process, is spent."""

    seconds_left: float


# Answers to a send's result
@dataclass(frozen=True)
class CodeSent:
    address: str
    expires_in: float
    resends_left: int


@dataclass(frozen=True)
class SendFailed:
    kind: str
    retryable: bool


@dataclass(frozen=True)
class BackToAddress:
    pass


# Answers to a code
@dataclass(frozen=True)
class Malformed:
    expected_length: int


@dataclass(frozen=True)
class Expired:
    resends_left: int


@dataclass(frozen=True)
class WrongCode:
    attempts_left: int


@dataclass(frozen=True)
class Verified:
    address: str


@dataclass(frozen=True)
class Locked:
    seconds: float  # how long the address stays locked; core.limits.FOREVER: until unlocked


@dataclass(frozen=True)
class Failed:
    reason: FailReason


AddressAnswer = (
    InvalidAddress
    | NotAllowed
    | CodeStillValid
    | Locked
    | CooldownActive
    | ResendsExhausted
    | TooManySends
    | SendCode
)
ResendAnswer = Locked | CooldownActive | ResendsExhausted | TooManySends | SendCode
CodeAnswer = Malformed | Expired | WrongCode | Verified | Locked | Failed
