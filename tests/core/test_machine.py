"""One test per rule of the verification machine, with a clock the test moves by hand."""

import pytest
from fakes import FakeClock
from state.ledger_scenes import lock

from otp_tui.core.address import AccessPolicy
from otp_tui.core.codes import OneTimeCode
from otp_tui.core.limits import FOREVER, LedgerEntry, MemoryLedger, Requester, SendBudget
from otp_tui.core.machine import InvalidEvent, Phase, Verification
from otp_tui.core.outcomes import (
    BackToAddress,
    CodeSent,
    CodeStillValid,
    CooldownActive,
    Expired,
    Failed,
    InvalidAddress,
    Locked,
    Malformed,
    NotAllowed,
    ResendsExhausted,
    SendCode,
    SendFailed,
    TooManySends,
    Verified,
    WrongCode,
)
from otp_tui.core.policy import Policy

ADDRESS = "user@example.com"


class Codes:
    """Hands out predictable codes so a test can type the right one."""

    def __init__(self):
        self.issued = []

    def __call__(self, length):
        code = f"{len(self.issued) + 1:0{length}d}"
        self.issued.append(code)
        return OneTimeCode(code)

    @property
    def last(self):
        return self.issued[-1]


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def wall():
    return FakeClock(start=1_800_000_000.0)


@pytest.fixture
def ledger(wall):
    return MemoryLedger(wall)


@pytest.fixture
def codes():
    return Codes()


def make(clock, ledger, codes, **policy):
    return Verification(Policy(**policy), ledger, clock, make_code=codes)


@pytest.fixture
def machine(clock, ledger, codes):
    return make(clock, ledger, codes)


def sent(machine):
    """Address submitted and the send succeeded: a code is awaited."""
    answer = machine.submit_address(ADDRESS)
    assert isinstance(answer, SendCode)
    return machine.send_succeeded()


def wrong(code):
    return "".join("1" if c == "0" else "0" for c in code)


# The address
def test_invalid_address_stays_on_the_address(machine):
    answer = machine.submit_address("not an address")
    assert isinstance(answer, InvalidAddress)
    assert machine.phase is Phase.ENTERING_ADDRESS


def test_address_outside_the_allowlist_is_not_allowed(clock, ledger, codes):
    machine = Verification(
        Policy(), ledger, clock, access=AccessPolicy.from_lists(["corp.example"], [])
    )
    assert isinstance(machine.submit_address(ADDRESS), NotAllowed)
    assert machine.phase is Phase.ENTERING_ADDRESS


def test_accepted_address_asks_for_a_send_with_a_fresh_code(machine, codes):
    answer = machine.submit_address(" User@Example.com ")
    assert isinstance(answer, SendCode)
    assert answer.address == "User@example.com"
    assert answer.code.reveal() == codes.last
    assert answer.ttl == 600
    assert machine.phase is Phase.SENDING


# Expiry
def test_code_is_valid_for_ttl_from_the_successful_send(machine, clock, codes):
    machine.submit_address(ADDRESS)
    clock.advance(100)  # time spent sending does not count against the code
    assert machine.send_succeeded() == CodeSent(ADDRESS, 600, 3)
    clock.advance(599.9)
    assert machine.status().expires_in == pytest.approx(0.1)
    assert machine.submit_code(codes.last) == Verified(ADDRESS)


def test_expired_code_is_expired_even_when_right_and_costs_no_attempt(machine, clock, codes):
    sent(machine)
    clock.advance(600)
    assert machine.submit_code(codes.last) == Expired(resends_left=3)
    assert machine.submit_code("999999") == Expired(resends_left=3)
    assert machine.status().attempts_left == 5
    assert machine.status().wrong_attempts == 0


def test_expired_with_no_resend_left_fails(clock, ledger, codes):
    machine = make(clock, ledger, codes, max_resends=0)
    sent(machine)
    clock.advance(600)
    assert machine.submit_code(codes.last) == Failed("expired")
    assert machine.phase is Phase.FAILED


def test_status_poll_ends_an_expired_verification_with_no_resend_left(clock, ledger, codes):
    machine = make(clock, ledger, codes, max_resends=0)
    sent(machine)
    clock.advance(599)
    assert machine.status().phase is Phase.AWAITING_CODE
    clock.advance(1)
    assert machine.status().phase is Phase.FAILED
    # Nothing more is taken; the run tells this ending as an expiry (tests/flow/test_run.py).
    assert not any(machine.accepts(i) for i in ("submit_code", "request_resend", "go_back"))


def test_clock_going_backwards_never_extends_a_code(machine, clock, codes):
    sent(machine)
    clock.advance(500)
    assert machine.status().expires_in == 100  # the UI's poll saw this moment
    clock.advance(-400)  # if trusted, the code would now have 500 s left instead of 100
    assert machine.status().expires_in == 0
    assert isinstance(machine.submit_code(codes.last), Expired)


# Input normalisation
@pytest.mark.parametrize("typed", ["12345", "1234567", "abcdef", "", "12 34 5"])
def test_malformed_input_is_not_counted(machine, typed):
    sent(machine)
    assert machine.submit_code(typed) == Malformed(expected_length=6)
    assert machine.status().attempts_left == 5


@pytest.mark.parametrize(
    "spell",
    [
        lambda c: c,
        lambda c: f"{c[:3]} {c[3:]}",
        lambda c: f"{c[:3]}-{c[3:]}",
        lambda c: f" {c} ",
    ],
    ids=["plain", "space", "dash", "padded"],
)
def test_spaces_and_dashes_are_dropped(machine, codes, spell):
    sent(machine)
    assert machine.submit_code(spell(codes.last)) == Verified(ADDRESS)


def test_code_length_comes_from_the_policy(clock, ledger, codes):
    machine = make(clock, ledger, codes, code_length=8)
    sent(machine)
    assert len(codes.last) == 8
    assert machine.submit_code("123456") == Malformed(expected_length=8)
    assert machine.submit_code(codes.last) == Verified(ADDRESS)


# Wrong codes and the lock
def test_wrong_codes_count_down_then_lock(machine, ledger):
    sent(machine)
    for left in (4, 3, 2, 1):
        assert machine.submit_code("999999") == WrongCode(attempts_left=left)
    assert machine.submit_code("999999") == Locked(seconds=900)
    assert machine.phase is Phase.LOCKED
    assert ledger.status(ADDRESS).locked_for == 900


def test_locked_verification_accepts_no_more_codes(machine, codes):
    sent(machine)
    for _ in range(5):
        machine.submit_code("999999")
    with pytest.raises(InvalidEvent):
        machine.submit_code(codes.last)


def test_resend_does_not_reset_wrong_attempts(machine, clock, codes):
    sent(machine)
    for _ in range(3):
        machine.submit_code("999999")
    clock.advance(60)
    assert isinstance(machine.request_resend(), SendCode)
    machine.send_succeeded()
    assert machine.submit_code("999999") == WrongCode(attempts_left=1)
    assert isinstance(machine.submit_code("999999"), Locked)


def test_going_back_does_not_reset_wrong_attempts(machine, clock):
    sent(machine)
    for _ in range(4):
        machine.submit_code("999999")
    assert machine.go_back() == BackToAddress()
    clock.advance(60)
    assert machine.submit_address(ADDRESS) == CodeStillValid(ADDRESS, 540.0)
    assert isinstance(machine.submit_code("999999"), Locked)


def test_going_back_from_the_code_and_returning_keeps_the_code(machine, clock, codes):
    sent(machine)
    machine.go_back()
    clock.advance(100)
    # The same mailbox in another spelling is the same address.
    assert machine.submit_address("USER@example.com") == CodeStillValid(ADDRESS, 500.0)
    assert machine.status().sends == 1  # nothing was sent
    assert machine.submit_code(codes.issued[0]) == Verified(ADDRESS)


def test_a_refused_other_address_leaves_the_code_for_the_first(machine, ledger, clock, codes):
    sent(machine)
    machine.go_back()
    lock(ledger, "other@example.com", 900)
    assert isinstance(machine.submit_address("other@example.com"), Locked)
    assert machine.submit_address(ADDRESS) == CodeStillValid(ADDRESS, 600.0)
    assert machine.submit_code(codes.issued[0]) == Verified(ADDRESS)


def test_a_new_code_for_another_address_kills_the_kept_one(machine, clock, codes):
    sent(machine)
    machine.go_back()
    clock.advance(60)
    assert isinstance(machine.submit_address("other@example.com"), SendCode)
    machine.go_back()  # cancelled on its way
    clock.advance(60)
    answer = machine.submit_address(ADDRESS)
    assert isinstance(answer, SendCode)  # no code is live any more: a new one is sent
    machine.send_succeeded()
    assert machine.submit_code(codes.issued[0]) == WrongCode(attempts_left=4)


def test_an_expired_kept_code_is_not_returned_to(machine, clock):
    sent(machine)
    machine.go_back()
    clock.advance(600)
    assert isinstance(machine.submit_address(ADDRESS), SendCode)


def test_the_clock_going_back_kills_a_kept_code(machine, clock):
    sent(machine)
    machine.go_back()
    clock.advance(-5)
    assert isinstance(machine.submit_address(ADDRESS), CooldownActive)


def test_a_lock_from_elsewhere_stops_the_return_to_a_kept_code(machine, ledger, clock):
    sent(machine)
    machine.go_back()
    lock(ledger, ADDRESS, 900)
    assert isinstance(machine.submit_address(ADDRESS), Locked)


def test_a_new_process_inherits_wrong_codes_from_the_ledger(clock, ledger, codes):
    first = make(clock, ledger, codes)
    sent(first)
    for _ in range(4):
        first.submit_code("999999")
    first.give_up()
    second = make(clock, ledger, codes)  # a restart shares only the ledger
    sent(second)
    assert second.status().attempts_left == 1
    assert isinstance(second.submit_code("999999"), Locked)


def test_locked_address_cannot_start_again_until_the_lockout_passes(clock, wall, ledger, codes):
    first = make(clock, ledger, codes)
    sent(first)
    for _ in range(5):
        first.submit_code("999999")
    second = make(clock, ledger, codes)
    assert second.submit_address(ADDRESS) == Locked(seconds=900)
    wall.advance(900)
    assert isinstance(second.submit_address(ADDRESS), SendCode)


def test_consecutive_failures_lock_until_an_operator_unlocks(clock, wall, ledger, codes):
    policy = {"max_consecutive_failures": 10, "max_sends_per_hour": 50}
    first = make(clock, ledger, codes, **policy)
    sent(first)
    assert [first.submit_code("999999") for _ in range(5)][-1] == Locked(900)
    wall.advance(900)  # the ordinary lockout passes; the consecutive count does not reset
    second = make(clock, ledger, codes, **policy)
    sent(second)
    assert [second.submit_code("999999") for _ in range(5)][-1] == Locked(FOREVER)
    wall.advance(10**6)
    assert make(clock, ledger, codes).submit_address(ADDRESS) == Locked(FOREVER)
    ledger.unlock(ADDRESS)
    assert isinstance(make(clock, ledger, codes).submit_address(ADDRESS), SendCode)


def test_success_resets_consecutive_failures(machine, ledger, codes):
    sent(machine)
    machine.submit_code("999999")
    assert ledger.status(ADDRESS).consecutive_failures == 1
    machine.submit_code(codes.last)
    assert ledger.status(ADDRESS).consecutive_failures == 0


# Verification consumes the code
def test_right_code_verifies_once(machine, codes):
    sent(machine)
    assert machine.submit_code(codes.last) == Verified(ADDRESS)
    assert machine.phase is Phase.VERIFIED
    with pytest.raises(InvalidEvent):
        machine.submit_code(codes.last)


# Resends
def test_resend_waits_for_the_cooldown(machine, clock):
    sent(machine)
    clock.advance(18)
    assert machine.request_resend() == CooldownActive(seconds_left=42)
    assert machine.status().resend_in == 42
    clock.advance(42)
    assert isinstance(machine.request_resend(), SendCode)


def test_resend_replaces_the_code(machine, clock, codes):
    sent(machine)
    old = codes.last
    clock.advance(60)
    machine.request_resend()
    new = codes.last
    assert new != old
    machine.send_succeeded()
    assert machine.submit_code(old) == WrongCode(attempts_left=4)
    assert machine.submit_code(new) == Verified(ADDRESS)


def test_resends_are_limited(clock, ledger, codes):
    machine = make(clock, ledger, codes, max_resends=2, max_sends_per_hour=50)
    sent(machine)
    for left in (1, 0):
        clock.advance(60)
        machine.request_resend()
        assert machine.send_succeeded().resends_left == left
    clock.advance(60)
    assert machine.request_resend() == ResendsExhausted()


def test_failed_send_does_not_use_up_a_resend(clock, ledger, codes):
    machine = make(clock, ledger, codes, max_resends=1, max_sends_per_hour=50)
    sent(machine)
    clock.advance(60)
    machine.request_resend()
    assert machine.send_failed("temporary", retryable=True) == SendFailed("temporary", True)
    assert machine.status().resends_left == 1
    assert isinstance(machine.retry_send(), SendCode)
    assert machine.send_succeeded().resends_left == 0


def test_failed_send_leaves_no_working_code(machine, clock, codes):
    sent(machine)
    clock.advance(60)
    machine.request_resend()
    machine.send_failed("timeout", retryable=True)
    machine.go_back()
    clock.advance(60)
    machine.submit_address(ADDRESS)
    machine.send_succeeded()
    assert machine.submit_code(codes.issued[0]) == WrongCode(attempts_left=4)


def test_retry_is_refused_when_retrying_cannot_help(machine):
    machine.submit_address(ADDRESS)
    machine.send_failed("auth", retryable=False)
    with pytest.raises(InvalidEvent):
        machine.retry_send()
    assert machine.go_back() == BackToAddress()


def test_going_back_and_changing_the_address_is_a_resend(machine, clock):
    sent(machine)
    machine.go_back()
    clock.advance(10)
    answer = machine.submit_address("other@example.com")
    assert isinstance(answer, SendCode)
    assert machine.send_succeeded().resends_left == 2


def test_a_corrected_address_waits_for_no_cooldown_and_the_same_one_does(machine, clock):
    machine.submit_address("alice@gmial.com")
    machine.send_succeeded()
    machine.go_back()
    clock.advance(5)
    # The typo fixed: sent at once, the cooldown spares a mailbox and this is another one.
    assert isinstance(machine.submit_address("alice@gmail.com"), SendCode)
    machine.send_succeeded()
    # A resend to that same address still waits, from the code screen or from the address.
    assert machine.request_resend() == CooldownActive(seconds_left=60)
    machine.go_back()
    clock.advance(-1)  # the clock went back: the kept code dies, the cooldown starts again
    assert machine.submit_address("alice@gmail.com") == CooldownActive(seconds_left=60)


def test_corrections_are_still_bounded_by_the_resends_and_the_budgets(clock, ledger, codes):
    machine = Verification(
        Policy(max_resends=5, max_sends_per_hour_per_requester=3),
        ledger,
        clock,
        make_code=codes,
        requester=Requester(user="alice"),
    )
    for address in ("a@example.com", "b@example.com", "c@example.com"):
        assert isinstance(machine.submit_address(address), SendCode)
        machine.send_succeeded()
        machine.go_back()
    # The requester's hourly budget (3) is spent, whatever the address and however quickly.
    assert isinstance(machine.submit_address("d@example.com"), TooManySends)
    few = make(clock, ledger, codes, max_resends=1, max_sends_per_hour_per_requester=100)
    for address in ("e@example.com", "f@example.com"):
        assert isinstance(few.submit_address(address), SendCode)
        few.send_succeeded()
        few.go_back()
    # And this verification's resends are spent too.
    assert isinstance(few.submit_address("g@example.com"), ResendsExhausted)


def test_first_send_failing_lets_the_address_be_corrected_without_a_cooldown(machine):
    machine.submit_address("typo@example.com")
    machine.send_failed("recipient_refused", retryable=False)
    machine.go_back()
    assert isinstance(machine.submit_address(ADDRESS), SendCode)


def test_hourly_send_budget_is_shared_through_the_ledger(clock, wall, ledger, codes):
    for _ in range(5):
        machine = make(clock, ledger, codes)
        sent(machine)
        machine.give_up()
    wall.advance(1000)
    answer = make(clock, ledger, codes).submit_address(ADDRESS)
    assert answer == TooManySends(seconds_left=2600)


# Events out of place
@pytest.mark.parametrize(
    "event",
    [
        lambda m: m.submit_code("123456"),
        lambda m: m.request_resend(),
        lambda m: m.send_succeeded(),
        lambda m: m.send_failed("timeout", True),
        lambda m: m.retry_send(),
        lambda m: m.go_back(),
    ],
)
def test_events_out_of_place_raise(machine, event):
    with pytest.raises(InvalidEvent) as raised:
        event(machine)
    assert "entering_address" in str(raised.value)


def test_cannot_submit_an_address_while_sending(machine):
    machine.submit_address(ADDRESS)
    with pytest.raises(InvalidEvent):
        machine.submit_address(ADDRESS)


def test_give_up_is_never_verified(machine, codes):
    sent(machine)
    assert machine.give_up() == Failed("cancelled")
    assert machine.phase is Phase.FAILED
    with pytest.raises(InvalidEvent):
        machine.submit_code(codes.last)
    with pytest.raises(InvalidEvent):
        machine.give_up()


def test_repr_shows_no_code(machine, codes):
    answer = machine.submit_address(ADDRESS)
    assert codes.last not in repr(machine)
    assert codes.last not in repr(answer)


def test_changing_the_case_of_an_address_buys_no_fresh_guesses(clock, ledger, codes):
    first = make(clock, ledger, codes)
    first.submit_address("User@Example.com")
    first.send_succeeded()
    for _ in range(4):
        first.submit_code("999999")
    first.give_up()
    second = make(clock, ledger, codes)
    second.submit_address("USER@example.com")
    second.send_succeeded()
    assert second.status().attempts_left == 1


@pytest.mark.parametrize("field", ["per_address", "total", "per_requester"])
def test_a_send_budget_of_zero_is_refused(field):
    numbers = {"per_address": 5, "total": 60, "per_requester": 10, field: 0}
    with pytest.raises(ValueError, match="per_hour"):
        SendBudget(numbers["per_address"], numbers["total"], numbers["per_requester"])


# Budgets across addresses
def test_the_total_send_budget_holds_across_addresses(clock, wall, ledger, codes):
    policy = {"max_sends_per_hour_total": 3}
    for number in range(3):
        answer = make(clock, ledger, codes, **policy).submit_address(f"u{number}@example.com")
        assert isinstance(answer, SendCode)
        wall.advance(60)
    answer = make(clock, ledger, codes, **policy).submit_address("fresh@example.com")
    assert answer == TooManySends(seconds_left=3600 - 180)


def test_a_requester_has_a_send_budget_across_addresses(clock, wall, ledger, codes):
    def machine_for(requester):
        policy = Policy(max_sends_per_hour_per_requester=2)
        return Verification(policy, ledger, clock, make_code=codes, requester=requester)

    alice = Requester(user="alice", ssh_client="203.0.113.9")
    for address in ("a@example.com", "b@example.com"):
        assert isinstance(machine_for(alice).submit_address(address), SendCode)
    assert isinstance(machine_for(alice).submit_address("c@example.com"), TooManySends)
    # Another local user is refused too while coming from the same SSH client...
    same_client = Requester(user="bob", ssh_client="203.0.113.9")
    assert isinstance(machine_for(same_client).submit_address("c@example.com"), TooManySends)
    # ... and allowed from elsewhere.
    elsewhere = Requester(user="bob", ssh_client="198.51.100.7")
    assert isinstance(machine_for(elsewhere).submit_address("c@example.com"), SendCode)


def test_the_right_code_on_the_last_attempt_verifies_and_leaves_no_lock(machine, ledger, codes):
    sent(machine)
    for _ in range(4):
        machine.submit_code("999999")
    assert machine.submit_code(codes.last) == Verified(ADDRESS)
    assert ledger.status(ADDRESS) == LedgerEntry(1, 0, 0, 0.0)


def test_a_guess_is_counted_before_it_is_compared(machine, ledger, codes):
    sent(machine)
    seen = []

    original = machine._keeper.matches

    def matches(digits):
        seen.append(ledger.status(ADDRESS).consecutive_failures)
        return original(digits)

    machine._keeper.matches = matches
    machine.submit_code("999999")
    assert seen == [1]  # the ledger had counted the guess when it was compared


def test_a_lock_set_by_another_process_refuses_the_guess_uncompared(clock, ledger, codes):
    first = make(clock, ledger, codes)
    sent(first)
    second = make(clock, ledger, codes)
    sent(second)
    for _ in range(5):
        second.submit_code("999999")
    assert first.submit_code(codes.last) == Locked(900)
    assert first.status().wrong_attempts == 0


# Which intentions the machine accepts now: the one table the run routes by
def test_the_machine_says_which_intentions_it_accepts_in_each_phase(machine):
    def accepted():
        intentions = ("submit_address", "submit_code", "request_resend", "retry_send", "go_back")
        return {intention for intention in intentions if machine.accepts(intention)}

    assert accepted() == {"submit_address"}
    machine.submit_address(ADDRESS)
    assert accepted() == {"go_back"}  # sending
    machine.send_failed("temporary", retryable=False)
    assert accepted() == {"go_back"}  # retrying cannot help: no retry offered
    machine.go_back()
    machine.submit_address(ADDRESS)
    machine.send_failed("unreachable", retryable=True)
    assert accepted() == {"retry_send", "go_back"}
    machine.retry_send()
    machine.send_succeeded()
    assert accepted() == {"submit_code", "request_resend", "go_back"}
    machine.give_up()
    assert accepted() == set()
    with pytest.raises(InvalidEvent):
        machine.submit_code("123456")


# Let in without mail (the gate's on_mail_failure = "allow")
def allowing(clock, ledger, codes):
    return Verification(Policy(), ledger, clock, make_code=codes, allow_on_mail_failure=True)


def test_a_failure_retrying_could_help_lets_in_when_the_operator_allows_it(clock, ledger, codes):
    machine = allowing(clock, ledger, codes)
    machine.submit_address(ADDRESS)
    assert not machine.status().lets_in_without_mail  # nothing failed yet
    machine.send_failed("unreachable", retryable=True)
    assert machine.status().lets_in_without_mail


def test_only_when_the_operator_allows_it_and_retrying_could_help(clock, ledger, codes, machine):
    machine.submit_address(ADDRESS)
    machine.send_failed("unreachable", retryable=True)
    assert not machine.status().lets_in_without_mail  # not allowed by the operator
    allowed = allowing(clock, ledger, codes)
    allowed.submit_address("other@example.com")
    allowed.send_failed("recipient_refused", retryable=False)
    assert not allowed.status().lets_in_without_mail


def test_never_while_a_wrong_code_counts_even_after_its_lock_ended(clock, wall, ledger, codes):
    first = make(clock, ledger, codes)
    sent(first)
    for _ in range(5):
        first.submit_code(wrong(codes.last))
    assert first.phase is Phase.LOCKED
    wall.advance(901)  # the lock ends; the wrong codes since the last success still count
    assert ledger.status(ADDRESS).locked_for == 0
    second = allowing(clock, ledger, codes)
    second.submit_address(ADDRESS)
    second.send_failed("unreachable", retryable=True)
    assert not second.status().lets_in_without_mail


def test_never_after_a_wrong_code_in_this_run(clock, ledger, codes):
    machine = allowing(clock, ledger, codes)
    sent(machine)
    machine.submit_code(wrong(codes.last))
    assert not machine.status().resend_possible  # the cooldown
    clock.advance(61)
    assert machine.status().resend_possible
    assert isinstance(machine.request_resend(), SendCode)
    machine.send_failed("unreachable", retryable=True)
    assert not machine.status().lets_in_without_mail


def test_a_success_forgives_earlier_wrong_codes(clock, ledger, codes):
    first = make(clock, ledger, codes)
    sent(first)
    first.submit_code(wrong(codes.last))
    assert isinstance(first.submit_code(codes.last), Verified)
    second = allowing(clock, ledger, codes)
    second.submit_address(ADDRESS)
    second.send_failed("unreachable", retryable=True)
    assert second.status().lets_in_without_mail


# A fixed address (--email, the gate)
def fixed(clock, ledger, codes, **policy):
    return Verification(Policy(**policy), ledger, clock, make_code=codes, fixed_address=ADDRESS)


def lock_by_guessing(clock, ledger, codes):
    """Lock ADDRESS the way a person does: five wrong codes in another run."""
    other = make(clock, ledger, codes)
    sent(other)
    for _ in range(5):
        other.submit_code(wrong(codes.last))
    assert other.phase is Phase.LOCKED


def test_a_fixed_address_is_the_one_checked_whatever_is_submitted(clock, ledger, codes):
    machine = fixed(clock, ledger, codes)
    answer = machine.submit_address("someone.else@example.com")
    assert isinstance(answer, SendCode)
    assert answer.address == ADDRESS


def test_a_fixed_address_that_is_locked_ends_the_verification(clock, wall, ledger, codes):
    lock_by_guessing(clock, ledger, codes)
    machine = fixed(clock, ledger, codes)
    assert isinstance(machine.submit_address(""), Locked)
    assert machine.phase is Phase.LOCKED
    assert not machine.accepts("submit_address")


def test_a_fixed_address_not_allowed_ends_the_verification(clock, ledger, codes):
    access = AccessPolicy.from_lists(["corp.example"], [])
    machine = Verification(
        Policy(), ledger, clock, access=access, make_code=codes, fixed_address=ADDRESS
    )
    assert isinstance(machine.submit_address(""), NotAllowed)
    assert machine.phase is Phase.FAILED


def test_a_fixed_address_over_its_hourly_budget_ends_the_verification(clock, ledger, codes):
    first = fixed(clock, ledger, codes, max_sends_per_hour=1)
    sent(first)
    second = fixed(clock, ledger, codes, max_sends_per_hour=1)
    assert isinstance(second.submit_address(""), TooManySends)
    assert second.phase is Phase.FAILED


def test_a_free_address_that_is_refused_stays_on_the_address(clock, ledger, codes, machine):
    lock_by_guessing(clock, ledger, codes)
    assert isinstance(machine.submit_address(ADDRESS), Locked)
    assert machine.phase is Phase.ENTERING_ADDRESS
