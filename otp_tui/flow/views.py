"""What to show next: the values a `Run` hands its front ends, plain and frozen.

A front end turns each into a screen (or a line) and never computes a rule from it: the
sentences are already worded, the seconds already counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from otp_tui.result import RunResult


@dataclass(frozen=True)
class Presentation:
    """What stays the same for the whole run, given to every screen."""

    demo: bool
    fixed_address: str | None  # as shown (masked), when --email or the gate fixed it
    code_length: int
    server_label: str | None  # the SMTP host, or None for the demo outbox
    send_timeout: float
    certificates_unchecked: bool  # smtp.validate_certs = false: said on the sending screen
    limits: tuple[str, ...]  # the policy in plain words, for the help
    clock: Callable[[], float]  # the run's monotonic clock (tests move it by hand)


@dataclass(frozen=True)
class AskAddress:
    """Ask which address to verify; `notice` says why we are back here, if we are."""

    notice: str = ""
    is_error: bool = True
    kind: Literal["", "cooldown"] = ""  # "cooldown": the notice counts down live


@dataclass(frozen=True)
class Sending:
    """A send has started: show progress once it takes a while; `Run.send` finishes it."""

    address: str  # as shown
    via: str | None  # the SMTP host; None for the demo outbox
    timeout: float
    retry: bool = False  # a retry after a failed send, not the first try
    note: str = ""  # on a retry: that it is trying again, and since when


@dataclass(frozen=True)
class SendProblem:
    """The send failed; `retryable` says whether trying again can help."""

    address: str  # as shown
    via: str | None  # the SMTP host; None for the demo outbox
    message: str
    retryable: bool
    note: str = ""  # after retries: how many tries, the last when


@dataclass(frozen=True)
class Countdown:
    """The clocks of the code entry now: what a ticking screen refreshes once a second."""

    expires_in: float  # 0 once the code has expired
    resend_in: float  # 0 when a resend is allowed now
    resends_left: int


@dataclass(frozen=True)
class Elapsed:
    """How long the send in flight has taken, for the sending screen."""

    seconds: float
    timeout: float


NoticeKind = Literal[
    "",  # nothing to say
    "wrong",  # a wrong code: attempts left
    "malformed",  # not the right number of digits
    "expired",  # the code expired (the countdown says so too)
    "refused",  # a resend refused: none left, the hourly budget
    "cooldown",  # a resend refused until the cooldown ends: counted down live
    "new_code",  # a new code went out; earlier ones no longer work
    "still_valid",  # back on the address the live code went to
]


@dataclass(frozen=True)
class AskCode:
    """Ask for the code sent to `address`; `notice` answers what was typed last."""

    address: str  # as shown
    countdown: Countdown
    notice: str = ""
    is_error: bool = True
    clear_entry: bool = False  # what was typed is spent (a wrong or expired code)
    kind: NoticeKind = ""


@dataclass(frozen=True)
class Finished:
    """The run is over: what to tell the person, and what the caller gets."""

    result: RunResult
    headline: str
    detail: str
    linger: bool  # show it until a deliberate key; False: leave at once (quit, signal, error)
    exit_status: int
    error: str | None = None  # one line for stderr once the terminal is restored

    @property
    def verified(self) -> bool:
        return self.result.verified


View = AskAddress | Sending | SendProblem | AskCode | Finished
Tick = Countdown | Elapsed | Finished
