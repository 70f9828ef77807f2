"""One run: the verification machine, its ledger and audit trail, the send, and the ending.

Each method is one intention of the person at the terminal and returns what to show next (a
view from `otp_tui.flow.views`), or None when the intention means nothing now (an Enter while a
send is in flight): front ends need not know which intention fits which moment. Nothing here
knows a screen exists.

Machine events that touch the ledger run in a worker thread, one at a time: a ledger that
stalls (a network store) must never freeze the front end's event loop, and `quit` answers at
once whatever is in flight. A ledger or audit trail that fails ends the run unverified with exit
status 2 (fail closed); once the run has finished, its ending is final.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol, TypeVar

from otp_tui.flow import wording
from otp_tui.flow.views import (
    AskAddress,
    AskCode,
    Countdown,
    Elapsed,
    Finished,
    Notice,
    Presentation,
    Sending,
    SendProblem,
    Tick,
    View,
)
from otp_tui.result import EXIT_USAGE, Reason, RunResult
from otp_tui.state.errors import StorageError

if TYPE_CHECKING:
    from otp_tui.core.machine import Status, Verification
    from otp_tui.core.outcomes import (
        CooldownActive,
        InvalidAddress,
        Locked,
        NotAllowed,
        ResendsExhausted,
        SendCode,
        TooManySends,
    )
    from otp_tui.flow.delivery import Delivery
    from otp_tui.state.audit import AuditEvent

    Refusal = (
        InvalidAddress | NotAllowed | Locked | CooldownActive | ResendsExhausted | TooManySends
    )

    class Auditor(Protocol):
        """Where the run reports what happened; `otp_tui.state.audit.AuditLog` is the real one."""

        def record(self, event: AuditEvent, address: str, **fields: object) -> None: ...


T = TypeVar("T")
Clock = Callable[[], float]


class _Stopped(Exception):
    """The run ended while an event was in flight: storage failed (`ending` says how), or the
    person quit meanwhile (`ending` is None: that ending has been shown already)."""

    def __init__(self, ending: Finished | None) -> None:
        super().__init__()
        self.ending = ending


class Run:
    def __init__(
        self,
        make_machine: Callable[[], Verification],
        delivery: Delivery,
        presentation: Presentation,
        *,
        clock: Clock,
        wall_clock: Clock,
        audit: Auditor | None = None,
        fixed_address: str | None = None,
        session_timeout: float | None = None,
    ) -> None:
        # Built on first use, after the first frame: nothing in the core is needed to draw it.
        self._make_machine = make_machine
        self._machine: Verification | None = None
        self._delivery = delivery
        self.presentation = presentation
        self._clock = clock
        self._wall_clock = wall_clock
        self._audit = audit
        self._fixed_address = fixed_address
        # The gate's whole-run deadline (`[gate] session_timeout`), on the run's own clock: no
        # screen, the result and refusal screens included, outlives it.
        self._deadline = clock() + session_timeout if session_timeout is not None else None
        self._lock = asyncio.Lock()
        self._ending: Finished | None = None
        self._request: SendCode | None = None  # the send `send()` is to make, if any
        self._send_started_at = 0.0
        self._tries = 0  # tries of the send in hand: 1, then one more for each retry
        self._last_try_at = 0.0  # wall-clock start of the latest try

    # -- what the front ends ask -----------------------------------------------------------

    @property
    def ending(self) -> Finished | None:
        return self._ending

    def first_view(self) -> AskAddress:
        return AskAddress()

    async def start(self) -> View | None:
        """With a fixed address the run starts by sending; otherwise it waits for an address."""
        if self._fixed_address is None:
            return None
        return await self.submit_address(self._fixed_address)

    def prepare(self) -> None:
        """Import the core and the mail stack ahead of the first send (call from a thread)."""
        import importlib

        for module in ("otp_tui.core.machine", "otp_tui.state.ledger"):
            importlib.import_module(module)
        self._delivery.prepare()

    def newest_mail(self) -> str | None:
        return self._delivery.newest_mail()

    def tick(self) -> Tick | None:
        """The clocks now; a Finished when time alone ended the run (the code expired with no
        resend left, or the session's deadline passed). Reads no ledger, so it is cheap to call
        once a second."""
        if self._deadline is not None and self._clock() >= self._deadline:
            if self._ending is None or self._ending.linger:
                # Unverified, with its audit line, whatever screen it is on ("timeout").
                return self.quit("timeout")
            return None
        if self._ending is not None:
            return None
        if self._machine is None:
            return None
        from otp_tui.core.machine import Phase

        status = self._machine.status()
        if status.phase is Phase.FAILED:
            return self._finish_expired()
        if status.phase is Phase.SENDING:
            return Elapsed(max(0.0, self._clock() - self._send_started_at), self._delivery.timeout)
        if status.phase is Phase.AWAITING_CODE:
            return self._countdown(status)
        if status.phase is Phase.ENTERING_ADDRESS and status.sends > 0:
            return self._countdown(status)  # the cooldown an address screen may count down
        return None

    # -- intentions ------------------------------------------------------------------------

    async def submit_address(self, raw: str) -> View | None:
        from otp_tui.core.outcomes import CodeStillValid, Locked, SendCode

        if self._fixed_address is None and not raw.strip():
            return AskAddress(Notice("empty_address"))
        async with self._lock:
            machine = self._ready()
            if self._ending is not None or not machine.accepts("submit_address"):
                return None
            try:
                answer = await self._in_thread(lambda: machine.submit_address(raw))
                if isinstance(answer, SendCode):
                    return self._begin_send(answer, retry=False)
                if isinstance(answer, CodeStillValid):
                    return self._ask_code(Notice("still_valid", seconds=answer.expires_in))
                if isinstance(answer, Locked) and machine.phase.finished:
                    return self._finish_locked(answer.seconds)
                if machine.phase.finished:  # the core ended it: a fixed address was refused
                    return self._finish("failed", self._refusal(answer))
                return AskAddress(self._refusal(answer))
            except _Stopped as stopped:
                return stopped.ending

    async def send(self) -> View | None:
        """Make the send the last `Sending` view announced. Cancel it to abandon the send (then
        call `back`); its result is ignored if the run moved on meanwhile."""
        request = self._request
        if request is None or self._ending is not None:
            return None
        failure = await self._delivery.deliver(request)
        async with self._lock:
            if self._request is not request or self._ending is not None:
                return None  # went back, or quit, while it was on its way
            self._request = None
            machine = self._ready()
            try:
                if failure is None:
                    sent = machine.send_succeeded()
                    self._record("sent", sent.address)
                    if machine.status().sends > 1:
                        return self._ask_code(Notice("new_code", at=self._wall()))
                    return self._ask_code(Notice())
                answer = machine.send_failed(failure.kind, failure.retryable)
                self._record("send_failed", self._address(), kind=failure.kind)
                if machine.status().lets_in_without_mail:
                    self._record("allowed_without_mail", self._address(), kind=failure.kind)
                    return self._finish(
                        "allowed_without_mail", Notice("allowed_without_mail", text=failure.message)
                    )
                return SendProblem(
                    self._shown(self._address()),
                    self._delivery.server_label,
                    Notice("send_failed", text=failure.message),
                    answer.retryable,
                    tries=self._tries,
                    last_try_at=self._last_try_at,
                )
            except _Stopped as stopped:
                return stopped.ending

    async def submit_code(self, text: str) -> View | None:
        from otp_tui.core.outcomes import Expired, Failed, Locked, Malformed, Verified, WrongCode

        async with self._lock:
            machine = self._ready()
            if self._ending is not None or not machine.accepts("submit_code"):
                return None
            try:
                answer = await self._in_thread(lambda: machine.submit_code(text))
                if isinstance(answer, WrongCode):
                    self._record("wrong_code", self._address(), attempts_left=answer.attempts_left)
                    notice = Notice("wrong", count=answer.attempts_left)
                    return self._ask_code(notice, clear=True)
                if isinstance(answer, Malformed):
                    return self._ask_code(Notice("malformed", count=answer.expected_length))
                if isinstance(answer, Expired):
                    return self._ask_code(Notice("expired"), clear=True)
                if isinstance(answer, Verified):
                    self._record("verified", answer.address)
                    return self._finish("verified", Notice("verified"))
                if isinstance(answer, Locked):
                    return self._finish_locked(answer.seconds)
                assert isinstance(answer, Failed)
                return self._finish_expired()
            except _Stopped as stopped:
                return stopped.ending

    async def resend(self) -> View | None:
        from otp_tui.core.outcomes import SendCode

        async with self._lock:
            machine = self._ready()
            if self._ending is not None or not machine.accepts("request_resend"):
                return None
            try:
                answer = await self._in_thread(machine.request_resend)
                if isinstance(answer, SendCode):
                    return self._begin_send(answer, retry=False)
                return self._ask_code(self._refusal(answer))
            except _Stopped as stopped:
                return stopped.ending

    async def retry(self) -> View | None:
        from otp_tui.core.outcomes import SendCode

        async with self._lock:
            machine = self._ready()
            if self._ending is not None or not machine.accepts("retry_send"):
                return None
            try:
                answer = await self._in_thread(machine.retry_send)
                if isinstance(answer, SendCode):
                    return self._begin_send(answer, retry=True)
                # The hourly budget ran out meanwhile, or the address was locked elsewhere.
                return SendProblem(
                    self._shown(self._address()),
                    self._delivery.server_label,
                    self._refusal(answer),
                    retryable=False,
                )
            except _Stopped as stopped:
                return stopped.ending

    async def back(self) -> View | None:
        """Back to the address, from sending (cancelled by the caller), a failure or the code."""
        async with self._lock:
            machine = self._ready()
            if self._ending is not None or not machine.accepts("go_back"):
                return None
            self._request = None
            machine.go_back()
            if self._fixed_address is not None:
                return AskAddress(Notice("fixed_address_again"))
            return AskAddress()

    def quit(self, reason: Reason = "cancelled") -> Finished:
        """The person quit, or a signal ended the run: never verified. Answers at once, even
        with a ledger call in flight (its answer is then ignored)."""
        if self._ending is not None:
            # On a result screen: leave now. A signal there (interrupted, hung up, terminated)
            # turns any result into "not verified": the caller is told the run did not
            # complete, and the trail does not end on "verified" for a run seen as failed.
            ending = replace(self._ending, linger=False)
            if reason != "cancelled" and ending.result.reason != reason:
                result = replace(ending.result, verified=False, reason=reason)
                ending = replace(ending, result=result, exit_status=result.exit_status)
                self._record_quietly("interrupted", result.email, reason=reason)
            self._ending = ending
            return ending
        self._request = None
        machine = self._machine
        if machine is not None and not machine.phase.finished:
            machine.give_up("cancelled" if reason == "cancelled" else "interrupted")
        event: AuditEvent = "cancelled" if reason == "cancelled" else "interrupted"
        try:
            self._record(event, self._address(), reason=reason)
        except _Stopped as stopped:
            if stopped.ending is not None:
                return stopped.ending
        return self._finish(reason, Notice("stopped"), linger=False)

    async def close(self) -> None:
        await self._delivery.close()

    # -- inside ----------------------------------------------------------------------------

    def _ready(self) -> Verification:
        if self._machine is None:
            self._machine = self._make_machine()
        return self._machine

    async def _in_thread(self, event: Callable[[], T]) -> T:
        try:
            answer = await asyncio.to_thread(event)
        except StorageError as error:
            raise _Stopped(self._storage_failed(error)) from error
        if self._ending is not None:
            raise _Stopped(None)  # quit while the ledger answered: the quit stands
        return answer

    def _storage_failed(self, error: StorageError) -> Finished | None:
        if self._ending is not None:
            return None
        if self._machine is not None and not self._machine.phase.finished:
            self._machine.give_up("cancelled")
        ending = self._finish("failed", Notice("storage_failed", text=str(error)), linger=False)
        self._ending = ending = replace(ending, exit_status=EXIT_USAGE, error=str(error))
        return ending

    def _begin_send(self, request: SendCode, *, retry: bool) -> Sending:
        self._record("send_requested", request.address)
        self._request = request
        self._send_started_at = self._clock()
        self._tries = self._tries + 1 if retry else 1
        self._last_try_at = self._wall()
        return Sending(
            self._shown(request.address),
            self._delivery.server_label,
            self._delivery.timeout,
            retry=retry,
            tries=self._tries,
            started_at=self._last_try_at,
        )

    def _countdown(self, status: Status) -> Countdown:
        return Countdown(
            status.expires_in, status.resend_wait, status.resends_left, status.resend_possible
        )

    def _refusal(self, answer: Refusal) -> Notice:
        """Why no code is sent now, as a notice."""
        from otp_tui.core.outcomes import (
            CooldownActive,
            InvalidAddress,
            Locked,
            NotAllowed,
            ResendsExhausted,
        )

        if isinstance(answer, InvalidAddress):
            return Notice("invalid_address", text=answer.message)
        if isinstance(answer, NotAllowed):
            return Notice("not_allowed")
        if isinstance(answer, Locked):
            return Notice("locked", seconds=answer.seconds, at=self._wall())
        if isinstance(answer, CooldownActive):
            return Notice("cooldown", seconds=answer.seconds_left)
        if isinstance(answer, ResendsExhausted):
            return Notice("resends_exhausted")
        return Notice("too_many_sends", seconds=answer.seconds_left)

    def _ask_code(self, notice: Notice, *, clear: bool = False) -> AskCode:
        assert self._machine is not None
        status = self._machine.status()
        return AskCode(
            self._shown(status.address or ""), self._countdown(status), notice, clear_entry=clear
        )

    def _finish_locked(self, seconds: float) -> Finished:
        self._record("locked", self._address(), seconds=seconds)
        return self._finish("locked", Notice("locked", seconds=seconds, at=self._wall()))

    def _finish_expired(self) -> Finished:
        return self._finish("expired", Notice("expired"))

    def _finish(self, reason: Reason, notice: Notice, *, linger: bool = True) -> Finished:
        machine = self._machine
        if machine is not None and not machine.phase.finished:
            machine.give_up("cancelled")
        status = machine.status() if machine is not None else None
        from otp_tui.core.machine import Phase

        verified = reason == "verified" and status is not None and status.phase is Phase.VERIFIED
        if reason == "verified" and not verified:
            reason = "failed"  # fail closed: only the machine's own word makes a run verified
        result = RunResult(
            verified=verified,
            email=self._address(),
            reason=reason,
            sends=status.sends if status else 0,
            wrong_attempts=status.wrong_attempts if status else 0,
        )
        self._request = None
        shown = self._shown(result.email)
        self._ending = Finished(result, notice, shown, linger, result.exit_status)
        return self._ending

    def _address(self) -> str:
        address = self._machine.status().address if self._machine is not None else None
        return address or self._fixed_address or ""

    def _shown(self, address: str) -> str:
        """An address fixed by --email or the gate is shown masked everywhere."""
        return wording.mask_address(address) if self._fixed_address is not None else address

    def _wall(self) -> float:
        return self._wall_clock()

    def _record(self, event: AuditEvent, address: str, **fields: object) -> None:
        if self._audit is None:
            return
        try:
            self._audit.record(event, address, **fields)
        except StorageError as error:
            raise _Stopped(self._storage_failed(error)) from error

    def _record_quietly(self, event: AuditEvent, address: str, **fields: object) -> None:
        # The run has already ended unverified; a failing trail cannot make that any worse.
        with contextlib.suppress(_Stopped):
            self._record(event, address, **fields)
