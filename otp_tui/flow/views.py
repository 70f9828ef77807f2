"""What to show next: the values a `Run` hands its front ends, plain and frozen.

A front end turns each into a screen, a few lines or a prompt, and never computes a rule from
it: the seconds are already counted, the decisions already made. It words what it shows itself,
from `otp_tui.flow.wording`, in the words its keys need (the TUI's ctrl+r, the line mode's r).

A `Notice` is what the run has to say about the last intention: a `kind` and the numbers that
sentence needs. Its kinds, and the fields each one reads:

On the address (`AskAddress`), and as a refusal of a resend (`AskCode`) or a retry
(`SendProblem`):
- `empty_address`: nothing was typed.
- `invalid_address`: not an address; `text` is the address checker's reason (in English).
- `not_allowed`: the operator does not allow this address (one sentence for every reason).
- `locked`: the address is locked for `seconds` (`math.inf`: until an operator unlocks it),
  counted from the wall-clock second `at`.
- `cooldown`: no new code, to this or any address, for `seconds`; it counts down live (the
  `Countdown`'s `resend_in` says how long is left now).
- `resends_exhausted`: no more codes in this run.
- `too_many_sends`: the address's hourly budget is spent, for `seconds`.
- `fixed_address_again`: back on an address the run fixed (--email, the gate); not an error.
On the code (`AskCode`):
- `wrong`: a wrong code; `count` attempts are left.
- `malformed`: not a code; a code has `count` digits.
- `expired`: the code expired (the countdown says so too); a new one can be asked for.
- `still_valid`: back on the address the live code went to; it expires in `seconds`.
- `new_code`: a new code went out at the wall-clock second `at`; earlier ones no longer work.
On a failed send (`SendProblem`):
- `send_failed`: `text` is the sender's sentence for what went wrong.
At the end (`Finished`; the headline follows from the kind):
- `verified`, `locked` (as above), `not_allowed`, `too_many_sends` (a fixed address refused),
  `expired` (no code left to ask for), `stopped` (quit, a signal, the gate's deadline),
  `allowed_without_mail` (`text`: why the mail failed), `storage_failed` (`text`: the ledger's
  or trail's sentence).
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
    certificates_unchecked: bool  # smtp.validate_certs = false: said on the sending screen
    limits: tuple[str, ...]  # the policy in plain words, for the help
    clock: Callable[[], float]  # the run's monotonic clock (tests move it by hand)
    sender: str | None = None  # the From a person looks for in their inbox; None in demo mode
    # A run that lets someone log in (the gate): "Verified" goes on to the session by itself.
    login: bool = False


NoticeKind = Literal[
    "",
    "empty_address",
    "invalid_address",
    "not_allowed",
    "locked",
    "cooldown",
    "resends_exhausted",
    "too_many_sends",
    "fixed_address_again",
    "wrong",
    "malformed",
    "expired",
    "still_valid",
    "new_code",
    "send_failed",
    "verified",
    "stopped",
    "allowed_without_mail",
    "storage_failed",
]

# Notices that tell, rather than warn: shown as a hint, not an error.
_NOT_ERRORS = frozenset({"", "fixed_address_again", "still_valid", "new_code"})


@dataclass(frozen=True)
class Notice:
    """What the run has to say, as a kind and its numbers (the module docstring lists them)."""

    kind: NoticeKind = ""
    count: int = 0  # attempts left (wrong), digits in a code (malformed)
    seconds: float = 0.0  # a wait or a life: a lock, a cooldown, the hourly budget, the code
    at: float = 0.0  # a wall-clock second: when a code was sent, when a lock was counted from
    text: str = ""  # a sentence from outside the run (the address checker, the sender, storage)

    @property
    def is_error(self) -> bool:
        return self.kind not in _NOT_ERRORS

    def __bool__(self) -> bool:
        return self.kind != ""


NOTHING = Notice()


@dataclass(frozen=True)
class AskAddress:
    """Ask which address to verify; `notice` says why we are back here, if we are."""

    notice: Notice = NOTHING


@dataclass(frozen=True)
class Sending:
    """A send has started: show progress once it takes a while; `Run.send` finishes it."""

    address: str  # as shown
    via: str | None  # the SMTP host; None for the demo outbox
    timeout: float
    retry: bool = False  # a retry after a failed send, not the first try
    tries: int = 1  # this is the n-th try of the send in hand
    started_at: float = 0.0  # wall-clock second this try started


@dataclass(frozen=True)
class SendProblem:
    """The send failed; `retryable` says whether trying again can help."""

    address: str  # as shown
    via: str | None  # the SMTP host; None for the demo outbox
    notice: Notice  # send_failed, or why a retry was refused
    retryable: bool
    tries: int = 1  # tries of this send so far
    last_try_at: float = 0.0  # wall-clock second the last try started


@dataclass(frozen=True)
class Countdown:
    """The clocks of the code entry now: what a ticking screen refreshes once a second."""

    expires_in: float  # 0 once the code has expired
    resend_in: float  # 0 when a resend is allowed now (cooldown and hourly budget both)
    resends_left: int
    resend_possible: bool  # whether a resend asked for now would be tried (the core's word)


@dataclass(frozen=True)
class Elapsed:
    """How long the send in flight has taken, for the sending screen."""

    seconds: float
    timeout: float


@dataclass(frozen=True)
class AskCode:
    """Ask for the code sent to `address`; `notice` answers what was typed last."""

    address: str  # as shown
    countdown: Countdown
    notice: Notice = NOTHING
    clear_entry: bool = False  # what was typed is spent (a wrong or expired code)


@dataclass(frozen=True)
class Finished:
    """The run is over: what to tell the person, and what the caller gets."""

    result: RunResult
    notice: Notice  # how it ended, for the headline and the detail
    address: str  # as shown
    linger: bool  # show it until a deliberate key; False: leave at once (quit, signal, error)
    exit_status: int
    error: str | None = None  # one line for stderr once the terminal is restored

    @property
    def verified(self) -> bool:
        return self.result.verified


View = AskAddress | Sending | SendProblem | AskCode | Finished
Tick = Countdown | Elapsed | Finished
