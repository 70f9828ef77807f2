"""The machine against a small model, over random event sequences with clock jumps.

The model is deliberately naive (plain counters and timestamps); the machine must agree with it
on every answer, and the security properties are checked as invariants after every step.
"""

from fakes import FakeClock
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from otp_tui.core.limits import MemoryLedger
from otp_tui.core.machine import InvalidEvent, Phase, Verification
from otp_tui.core.outcomes import (
    CodeStillValid,
    CooldownActive,
    Expired,
    Failed,
    Locked,
    Malformed,
    ResendsExhausted,
    SendCode,
    Verified,
    WrongCode,
)
from otp_tui.core.policy import Policy

ADDRESS = "model@example.com"
POLICY = Policy(
    code_length=6,
    code_ttl=300,
    resend_cooldown=30,
    max_resends=2,
    max_attempts=3,
    max_sends_per_hour=10_000,
    lockout=600,
    max_consecutive_failures=10_000,
)


class MachineAgainstModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.clock = FakeClock()
        self.wall = FakeClock(start=1_800_000_000.0)
        self.issued = []
        self.machine = Verification(
            POLICY, MemoryLedger(self.wall), self.clock, make_code=self._make_code
        )
        # The model.
        self.phase = Phase.ENTERING_ADDRESS
        self.live = None  # the code that would verify, if any
        self.expires_at: float | None = None
        self.sent_at: float | None = None
        self.sends = 0
        self.wrong = 0
        self.retryable = False
        self.verified_count = 0

    def _make_code(self, length):
        # Drawn from secrets like the real one, but remembered so the test can type it.
        from otp_tui.core.codes import generate_code

        code = generate_code(length)
        self.issued.append(code.reveal())
        return code

    @property
    def resends_left(self):
        return max(0, POLICY.max_resends - max(0, self.sends - 1))

    def _expired(self):
        if self.live is None:
            return True
        assert self.expires_at is not None  # a live code always has an expiry
        return self.clock.now >= self.expires_at

    # Time
    @rule(seconds=st.floats(min_value=0, max_value=400, allow_nan=False))
    def advance(self, seconds):
        self.clock.advance(seconds)
        self.wall.advance(seconds)
        self.machine.status()
        self._model_poll()

    @rule(seconds=st.floats(min_value=0.001, max_value=400, allow_nan=False))
    def clock_jumps_back(self, seconds):
        self.clock.advance(-seconds)
        self.machine.status()
        # A live code is dead (awaited, or kept while the address shows), and the cooldown
        # starts again from now. A code still being sent is spared.
        if self.phase is not Phase.SENDING:
            self.live = None
        if self.sent_at is not None:
            self.sent_at = self.clock.now
        self._model_poll()

    def _model_poll(self):
        if self.phase is Phase.AWAITING_CODE and self._expired() and self.resends_left == 0:
            self.phase = Phase.FAILED
            self.live = None

    # The send
    def _start_send(self, answer, resend):
        if resend and self.resends_left == 0:
            assert answer == ResendsExhausted()
            return
        if resend and self.sent_at is not None and self.clock.now < self.sent_at + 30:
            assert isinstance(answer, CooldownActive)
            assert answer.seconds_left == min(30.0, self.sent_at + 30 - self.clock.now)
            return
        assert isinstance(answer, SendCode), answer
        self.live = self.issued[-1]
        self.expires_at = None
        self.phase = Phase.SENDING

    @precondition(lambda self: self.phase is Phase.ENTERING_ADDRESS)
    @rule()
    def submit_address(self):
        answer = self.machine.submit_address(ADDRESS)
        if self.live is not None and self.expires_at is not None and not self._expired():
            # Back on the address the live code went to: back to entering it, nothing sent.
            # The machine never tells a life longer than a code has (float rounding clamped).
            left = min(self.expires_at - self.clock.now, float(POLICY.code_ttl))
            assert answer == CodeStillValid(ADDRESS, left)
            self.phase = Phase.AWAITING_CODE
            return
        self._start_send(answer, resend=self.sends > 0)

    @precondition(lambda self: self.phase is Phase.AWAITING_CODE)
    @rule()
    def request_resend(self):
        self._start_send(self.machine.request_resend(), resend=True)

    @precondition(lambda self: self.phase is Phase.SEND_FAILED and self.retryable)
    @rule()
    def retry(self):
        self._start_send(self.machine.retry_send(), resend=False)

    @precondition(lambda self: self.phase is Phase.SENDING)
    @rule()
    def send_succeeds(self):
        answer = self.machine.send_succeeded()
        self.sends += 1
        self.sent_at = self.clock.now
        self.expires_at = self.clock.now + POLICY.code_ttl
        self.phase = Phase.AWAITING_CODE
        assert answer.resends_left == self.resends_left

    @precondition(lambda self: self.phase is Phase.SENDING)
    @rule(retryable=st.booleans())
    def send_fails(self, retryable):
        self.machine.send_failed("temporary" if retryable else "auth", retryable)
        self.live = None
        self.retryable = retryable
        self.phase = Phase.SEND_FAILED

    @precondition(
        lambda self: self.phase in (Phase.SENDING, Phase.SEND_FAILED, Phase.AWAITING_CODE)
    )
    @rule()
    def go_back(self):
        self.machine.go_back()
        if self.phase is not Phase.AWAITING_CODE:  # from the code entry the code stays live
            self.live = None
        self.phase = Phase.ENTERING_ADDRESS

    @precondition(lambda self: not self.phase.finished)
    @rule()
    def give_up(self):
        assert self.machine.give_up() == Failed("cancelled")
        self.live = None
        self.phase = Phase.FAILED

    # The code
    def _submit(self, typed, right):
        answer = self.machine.submit_code(typed)
        if self._expired():
            self.live = None
            if self.resends_left == 0:
                assert answer == Failed("expired")
                self.phase = Phase.FAILED
            else:
                assert answer == Expired(self.resends_left)
            return
        if right:
            assert answer == Verified(ADDRESS)
            self.verified_count += 1
            self.live = None
            self.phase = Phase.VERIFIED
            return
        self.wrong += 1
        if self.wrong >= POLICY.max_attempts:
            assert answer == Locked(POLICY.lockout)
            self.live = None
            self.phase = Phase.LOCKED
        else:
            assert answer == WrongCode(POLICY.max_attempts - self.wrong)

    @precondition(lambda self: self.phase is Phase.AWAITING_CODE)
    @rule()
    def submit_right_code(self):
        # "Right" is the newest code issued; it only verifies if the model says it is live.
        self._submit(self.issued[-1], right=self.live == self.issued[-1])

    @precondition(lambda self: self.phase is Phase.AWAITING_CODE and len(self.issued) > 1)
    @rule(back=st.integers(min_value=2, max_value=5))
    def submit_an_old_code(self, back):
        old = self.issued[-min(back, len(self.issued))]
        self._submit(old, right=old == self.live)

    @precondition(lambda self: self.phase is Phase.AWAITING_CODE)
    @rule(typed=st.text(alphabet="0123456789 -x", max_size=9))
    def submit_typed(self, typed):
        from otp_tui.core.codes import code_in_text

        digits = code_in_text(typed, 6)
        if digits is None:
            answer = self.machine.submit_code(typed)
            if self._expired():
                self.live = None
                expected = Failed("expired") if self.resends_left == 0 else None
                if expected:
                    assert answer == expected
                    self.phase = Phase.FAILED
                else:
                    assert answer == Expired(self.resends_left)
            else:
                assert answer == Malformed(6)
            return
        self._submit(typed, right=digits == self.live)

    @precondition(lambda self: self.phase.finished)
    @rule()
    def events_after_the_end_raise(self):
        for event in (self.machine.give_up, self.machine.request_resend):
            try:
                event()
            except InvalidEvent:
                continue
            raise AssertionError(f"{event.__name__} accepted after the end")

    # Invariants
    @invariant()
    def phases_agree(self):
        assert self.machine.phase is self.phase

    @invariant()
    def limits_hold(self):
        assert self.verified_count <= 1
        assert self.wrong <= POLICY.max_attempts
        assert self.sends <= 1 + POLICY.max_resends
        status = self.machine.status()
        assert status.sends == self.sends
        assert status.wrong_attempts == self.wrong
        assert 0 <= status.expires_in <= POLICY.code_ttl
        assert 0 <= status.resend_in <= POLICY.resend_cooldown


MachineAgainstModel.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestMachineAgainstModel = MachineAgainstModel.TestCase
