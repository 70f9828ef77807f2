"""The sentences a screen shows for the machine's refusals: one place, so they read alike."""

from __future__ import annotations

from otp_tui.core.outcomes import (
    CooldownActive,
    InvalidAddress,
    Locked,
    NotAllowed,
    ResendsExhausted,
    TooManySends,
)
from otp_tui.tui.text import clock_duration, rough_duration, until

Refusal = InvalidAddress | NotAllowed | Locked | CooldownActive | ResendsExhausted | TooManySends


def refusal_text(answer: Refusal, wall_now: float) -> str:
    if isinstance(answer, InvalidAddress | NotAllowed):
        return answer.message
    if isinstance(answer, Locked):
        return f"This address is locked {until(answer.seconds, wall_now)}."
    if isinstance(answer, CooldownActive):
        return f"You can ask for another code in {clock_duration(answer.seconds_left)}."
    if isinstance(answer, ResendsExhausted):
        return "No more codes can be sent in this session."
    return (
        "Too many codes were sent to this address; "
        f"try again in {rough_duration(answer.seconds_left)}."
    )
