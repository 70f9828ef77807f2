"""The verification state machine: every rule about codes, sends and guesses lives here.

It owns no timers and never sleeps. Time comes from an injected monotonic clock (seconds), and
the UI's interval timer merely asks `status()` what the state is now, so tests drive time with a
fake clock. Counts that must survive a restart (sends per hour, wrong codes, locks) go through a
`LimitsLedger`; the per-verification counts live here. Each guess is admitted by the ledger
(lock checked, guess counted) before it is compared, so no process compares a guess the limits
did not allow, however many race on one address.

An event that makes no sense in the current phase raises `InvalidEvent`: that is a bug in the
caller, and it must be loud rather than silently ignored.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from otp_tui.core.address import Accepted, AccessPolicy, Invalid, check_address, limits_key
from otp_tui.core.codes import CodeKeeper, OneTimeCode, code_in_text, generate_code
from otp_tui.core.limits import (
    GuessAdmitted,
    GuessLimits,
    LimitsLedger,
    Requester,
    SendBudget,
)
from otp_tui.core.outcomes import (
    AddressAnswer,
    BackToAddress,
    CodeAnswer,
    CodeSent,
    CodeStillValid,
    CooldownActive,
    Expired,
    Failed,
    FailReason,
    InvalidAddress,
    Locked,
    Malformed,
    NotAllowed,
    ResendAnswer,
    ResendsExhausted,
    SendCode,
    SendFailed,
    TooManySends,
    Verified,
    WrongCode,
)
from otp_tui.core.policy import Policy

Clock = Callable[[], float]


class Phase(enum.Enum):
    ENTERING_ADDRESS = "entering_address"
    SENDING = "sending"
    SEND_FAILED = "send_failed"
    AWAITING_CODE = "awaiting_code"
    VERIFIED = "verified"
    LOCKED = "locked"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (Phase.VERIFIED, Phase.LOCKED, Phase.FAILED)


# What a person (or the run on their behalf) can ask of the machine; `accepts` says which fit now.
Intention = Literal["submit_address", "submit_code", "request_resend", "retry_send", "go_back"]

# The phases each event is allowed in: the one table of them.
_ALLOWED_IN: dict[str, tuple[Phase, ...]] = {
    "submit_address": (Phase.ENTERING_ADDRESS,),
    "submit_code": (Phase.AWAITING_CODE,),
    "request_resend": (Phase.AWAITING_CODE,),
    "retry_send": (Phase.SEND_FAILED,),
    "go_back": (Phase.SENDING, Phase.SEND_FAILED, Phase.AWAITING_CODE),
    "send_succeeded": (Phase.SENDING,),
    "send_failed": (Phase.SENDING,),
}


class InvalidEvent(RuntimeError):
    """An event arrived in a phase where it means nothing: a bug in the caller."""

    def __init__(self, event: str, phase: Phase) -> None:
        super().__init__(f"{event} is not allowed while {phase.value}")
        self.event = event
        self.phase = phase


@dataclass(frozen=True)
class Status:
    """The answer to "what is the state now?", for countdowns and button labels."""

    phase: Phase
    address: str | None
    expires_in: float  # seconds the live code has left; 0 when none is live
    resend_in: float  # seconds of cooldown before a resend is allowed; 0 when allowed now
    resends_left: int
    attempts_left: int  # wrong codes this verification may still take before it locks
    sends: int  # successful sends in this verification
    wrong_attempts: int  # wrong codes in this verification
    # Seconds until the hourly send budget, which refused the last resend, allows one again: a
    # resend offered before then would only be refused again. 0 when it has not refused.
    budget_wait: float = 0.0
    # The operator's `on_mail_failure = "allow"` applies now: the send failed for a reason
    # retrying could help, and no wrong code counts against the address (see `Verification`).
    lets_in_without_mail: bool = False

    @property
    def resend_wait(self) -> float:
        """Seconds before a resend could be tried: the cooldown and the hourly budget both."""
        return max(self.resend_in, self.budget_wait)

    @property
    def resend_possible(self) -> bool:
        """Whether a resend asked for now would be tried (it may still be refused by a limit
        another process reached meanwhile)."""
        return self.resends_left > 0 and self.resend_wait <= 0


class Verification:
    """One attempt to prove control of one address (the address may be corrected on the way).

    `requester` names who asks (the local user, the SSH client): their sends count against a
    budget per identity, across addresses, besides the address's and the whole ledger's.

    `allow_on_mail_failure` is the gate operator's `on_mail_failure = "allow"`: a failed send
    lets the person in without a code, but only a failure retrying could help (the server
    unreachable, slow or busy: never a refused login, address or message), and only while no
    wrong code counts against the address, in this run or an earlier one, locked or not.

    `fixed_address` is an address the run was given (--email, the gate): whatever is submitted,
    it is the one checked, and a refusal that waiting in this run cannot lift (a lock, an address
    not allowed, the hourly budget) ends the verification, since there is no other to try.
    """

    def __init__(
        self,
        policy: Policy,
        ledger: LimitsLedger,
        clock: Clock,
        access: AccessPolicy | None = None,
        make_code: Callable[[int], OneTimeCode] = generate_code,
        requester: Requester | None = None,
        allow_on_mail_failure: bool = False,
        fixed_address: str | None = None,
    ) -> None:
        self._policy = policy
        self._send_budget = SendBudget(
            per_address=policy.max_sends_per_hour,
            total=policy.max_sends_per_hour_total,
            per_requester=policy.max_sends_per_hour_per_requester,
            requesters=(requester or Requester()).budget_names,
        )
        self._guess_limits = GuessLimits(
            max_attempts=policy.max_attempts,
            lockout=policy.lockout,
            max_consecutive_failures=policy.max_consecutive_failures,
        )
        self._ledger = ledger
        self._clock = clock
        self._access = access or AccessPolicy()
        self._make_code = make_code
        self._keeper = CodeKeeper()

        self.phase = Phase.ENTERING_ADDRESS
        self._address: str | None = None
        self._last_seen = clock()
        self._sends = 0  # successful sends: the first is free, the rest are resends
        self._last_sent_at: float | None = None
        self._expires_at: float | None = None
        self._wrong_attempts = 0
        self._attempts_left = policy.max_attempts
        self._last_failure_retryable = False
        self._budget_until = 0.0  # when the hourly budget that refused a resend allows one
        self._allow_on_mail_failure = allow_on_mail_failure
        self._fixed_address = fixed_address
        # Whether the ledger counted wrong codes against the address when its send began,
        # since its last success: a lock that ended does not forgive them.
        self._wrong_codes_counted = False

    # Time
    def _now(self) -> float:
        now = self._clock()
        if now < self._last_seen:
            # The clock went backwards: nothing measured against it can be trusted, so a live
            # code dies and the cooldown starts again (fail closed, never a longer life). A code
            # still being sent is spared: its life has not started yet.
            if self.phase is not Phase.SENDING:  # awaiting it, or kept while the address shows
                self._keeper.discard()
            if self._last_sent_at is not None:
                self._last_sent_at = now
        self._last_seen = now
        return now

    def _code_live(self, now: float) -> bool:
        return self._keeper.holding and self._expires_at is not None and now < self._expires_at

    @property
    def resends_left(self) -> int:
        return max(0, self._policy.max_resends - max(0, self._sends - 1))

    def accepts(self, intention: Intention) -> bool:
        """Whether `intention` means something now; any other raises `InvalidEvent`."""
        if self.phase not in _ALLOWED_IN[intention]:
            return False
        if intention == "retry_send":
            return self._last_failure_retryable
        return True

    def _require(self, event: str) -> None:
        if self.phase not in _ALLOWED_IN[event]:
            raise InvalidEvent(event, self.phase)

    # Queries
    def status(self) -> Status:
        """The state now. The one time-driven transition happens here: a code that expired with
        no resend left ends the verification as failed."""
        now = self._now()
        if (
            self.phase is Phase.AWAITING_CODE
            and not self._code_live(now)
            and self.resends_left == 0
        ):
            self._finish(Phase.FAILED, "expired")
        live = self.phase is Phase.AWAITING_CODE and self._code_live(now)
        return Status(
            phase=self.phase,
            address=self._address,
            expires_in=self._expires_in(now) if live else 0.0,
            resend_in=self._cooldown_left(now),
            resends_left=self.resends_left,
            attempts_left=self._attempts_left,
            sends=self._sends,
            wrong_attempts=self._wrong_attempts,
            budget_wait=max(0.0, self._budget_until - now),
            lets_in_without_mail=self._lets_in_without_mail(),
        )

    def _lets_in_without_mail(self) -> bool:
        return (
            self._allow_on_mail_failure
            and self.phase is Phase.SEND_FAILED
            and self._last_failure_retryable
            and self._wrong_attempts == 0
            and not self._wrong_codes_counted
        )

    def _expires_in(self, now: float) -> float:
        assert self._expires_at is not None
        return min(max(0.0, self._expires_at - now), float(self._policy.code_ttl))

    def _cooldown_left(self, now: float) -> float:
        if self._last_sent_at is None:
            return 0.0
        left = self._last_sent_at + self._policy.resend_cooldown - now
        # Clamped: float rounding must not show a cooldown longer than the configured one.
        return min(max(0.0, left), float(self._policy.resend_cooldown))

    # Events: the address and the sends
    def submit_address(self, raw: str) -> AddressAnswer:
        self._require("submit_address")
        answer = self._answer_address(raw if self._fixed_address is None else self._fixed_address)
        if self._fixed_address is not None and isinstance(
            answer, Locked | NotAllowed | TooManySends
        ):
            # A fixed address has nothing else to try: the verification ends here.
            if isinstance(answer, Locked):
                return self._lock(answer.seconds)
            self._finish(Phase.FAILED, "refused")
        return answer

    def _answer_address(self, raw: str) -> AddressAnswer:
        verdict = check_address(raw, self._access)
        if isinstance(verdict, Invalid):
            return InvalidAddress(verdict.message)
        if not isinstance(verdict, Accepted):
            return NotAllowed(verdict.message)
        if self._address is not None and limits_key(verdict.address) == limits_key(self._address):
            now = self._now()
            if self._code_live(now):
                # Back on the address the live code went to: going back was only a look. The
                # person returns to that code (no send, no cooldown), unless a lock came since.
                locked_for = self._ledger.status(limits_key(self._address)).locked_for
                if locked_for > 0:
                    self._keeper.discard()
                    return Locked(locked_for)
                self.phase = Phase.AWAITING_CODE
                return CodeStillValid(self._address, self._expires_in(now))
        # A corrected address (not the one the last code went to) waits for no cooldown: the
        # cooldown spares one mailbox, and a typo's fix is another; the hourly budgets (per
        # address, per requester, host-wide) and the resend count still bound every send.
        corrected = self._address is not None and limits_key(verdict.address) != limits_key(
            self._address
        )
        return self._start_send(verdict.address, resend=self._sends > 0, cooldown=not corrected)

    def request_resend(self) -> ResendAnswer:
        self._require("request_resend")
        assert self._address is not None
        answer = self._start_send(self._address, resend=True)
        if isinstance(answer, TooManySends):
            self._budget_until = self._now() + answer.seconds_left
        return answer

    def retry_send(self) -> ResendAnswer:
        """Try again after a failed send that retrying can help; it does not use up a resend."""
        self._require("retry_send")
        if not self._last_failure_retryable:
            raise InvalidEvent("retry_send after a failure retrying cannot help", self.phase)
        assert self._address is not None
        return self._start_send(self._address, resend=False)

    def _start_send(
        self, address: str, *, resend: bool, cooldown: bool = True
    ) -> Locked | CooldownActive | ResendsExhausted | TooManySends | SendCode:
        now = self._now()
        entry = self._ledger.status(limits_key(address))
        if entry.locked_for > 0:
            return Locked(entry.locked_for)
        if resend:
            if self.resends_left == 0:
                return ResendsExhausted()
            wait = self._cooldown_left(now) if cooldown else 0.0
            if wait > 0:
                return CooldownActive(wait)
        # The hourly budgets are spent when a send is asked for, not when it succeeds: a send
        # that failed or was cancelled may still have delivered mail.
        wait = self._ledger.reserve_send(limits_key(address), self._send_budget)
        if wait > 0:
            return TooManySends(wait)
        code = self._make_code(self._policy.code_length)
        # The new code replaces the old one at once, even before the send succeeds: a mailbox
        # must never hold two codes that both work.
        self._keeper.keep(code)
        self._expires_at = None
        self._address = address
        # Wrong codes from earlier runs that did not end in a lock still count against this one.
        self._attempts_left = max(0, self._policy.max_attempts - entry.wrong_codes)
        self._wrong_codes_counted = entry.wrong_codes > 0 or entry.consecutive_failures > 0
        self.phase = Phase.SENDING
        return SendCode(address=address, code=code, ttl=self._policy.code_ttl)

    def send_succeeded(self) -> CodeSent:
        self._require("send_succeeded")
        assert self._address is not None
        now = self._now()
        self._sends += 1
        self._last_sent_at = now
        self._expires_at = now + self._policy.code_ttl
        self.phase = Phase.AWAITING_CODE
        return CodeSent(self._address, self._policy.code_ttl, self.resends_left)

    def send_failed(self, kind: str, retryable: bool) -> SendFailed:
        self._require("send_failed")
        self._keeper.discard()
        self._last_failure_retryable = retryable
        self.phase = Phase.SEND_FAILED
        return SendFailed(kind, retryable)

    def go_back(self) -> BackToAddress:
        """Back to the address (to correct it, or after cancelling a send).

        From the code entry the live code stays live: submitting the same address again
        returns to it (`CodeStillValid`), and a new code for any address replaces it. A code
        still being sent dies. Nothing is refunded: wrong codes stay counted and a new send is
        still a resend (counted, and with its cooldown for the same address), so going back is
        no way around a limit.
        """
        self._require("go_back")
        if self.phase is not Phase.AWAITING_CODE:
            self._keeper.discard()
            self._expires_at = None
        self.phase = Phase.ENTERING_ADDRESS
        return BackToAddress()

    # Events: the code
    def submit_code(self, text: str) -> CodeAnswer:
        self._require("submit_code")
        assert self._address is not None
        now = self._now()
        locked_for = self._ledger.status(limits_key(self._address)).locked_for
        if locked_for > 0:  # another process may have locked the address meanwhile
            return self._lock(locked_for)
        # Expiry comes first: an expired code is "expired" whether it matches or not, and costs
        # no attempt.
        if not self._code_live(now):
            self._keeper.discard()
            if self.resends_left == 0:
                return self._finish(Phase.FAILED, "expired")
            return Expired(self.resends_left)
        digits = code_in_text(text, self._policy.code_length)
        if digits is None:
            return Malformed(self._policy.code_length)
        key = limits_key(self._address)
        # The ledger admits the guess (and counts it as wrong) before it is compared: a guess
        # beyond the limit is never compared at all, and a lock it sets off is already in place.
        token = secrets.token_hex(16)
        verdict = self._ledger.admit_guess(key, self._guess_limits, token)
        if not isinstance(verdict, GuessAdmitted):
            return self._lock(verdict.locked_for)
        if self._keeper.matches(digits):
            self._keeper.discard()  # consumed: it cannot verify twice
            self._ledger.record_success(key, token)
            self.phase = Phase.VERIFIED
            return Verified(self._address)
        self._wrong_attempts += 1
        self._attempts_left = verdict.attempts_left
        if verdict.lock is not None:
            return self._lock(verdict.lock)
        return WrongCode(self._attempts_left)

    def _lock(self, seconds: float) -> Locked:
        self._keeper.discard()
        self._attempts_left = 0
        self.phase = Phase.LOCKED
        return Locked(seconds)

    # Events: the end
    def give_up(self, reason: FailReason = "cancelled") -> Failed:
        """The user quit, or the program was interrupted: never verified."""
        if self.phase.finished:
            raise InvalidEvent("give_up", self.phase)
        return self._finish(Phase.FAILED, reason)

    def _finish(self, phase: Phase, reason: FailReason) -> Failed:
        self._keeper.discard()
        self.phase = phase
        return Failed(reason)

    def __repr__(self) -> str:
        return f"Verification(phase={self.phase.value}, address={self._address!r})"
