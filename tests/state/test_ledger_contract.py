"""The LimitsLedger contract, run against MemoryLedger, SqliteLedger and RedisLedger alike.

The scenarios pin the meaning the core relies on. The hypothesis tests at the end drive each
ledger through random histories: one holds all three (the Redis one's Lua included) to the
core's rules applied with nothing around them, the other holds SQLite and Redis to the memory
ledger, scenes set by hand included.
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_scenes import budget_sends, lock, record_wrong_code
from state_helpers import START, FakeClock

from otp_tui.core.limits import (
    FOREVER,
    HOUR,
    TOTAL,
    GuessAdmitted,
    GuessCounts,
    GuessLimits,
    GuessRefused,
    GuessVerdict,
    LedgerEntry,
    LimitsLedger,
    MemoryLedger,
    Requester,
    SendBudget,
    after_success,
    judge_guess,
    recent,
    wait_for_send,
)
from otp_tui.state.redis_ledger import RedisLedger
from otp_tui.state.sqlite_ledger import SqliteLedger

ALICE = "alice@example.com"
BOB = "bob@example.com"
LIMITS = GuessLimits(max_attempts=3, lockout=900, max_consecutive_failures=7)


def only(per_address: int) -> SendBudget:
    """A budget in which only the address's own limit can bite."""
    return SendBudget(per_address=per_address, total=10_000, per_requester=10_000)


def test_an_unknown_address_has_nothing_recorded(ledger: LimitsLedger) -> None:
    assert ledger.status(ALICE) == LedgerEntry(0, 0, 0, 0.0)


def test_the_hourly_budget_refuses_with_the_time_until_the_oldest_send_ages_out(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    for _ in range(3):
        assert ledger.reserve_send(ALICE, only(3)) == 0
        clock.advance(10)
    # Sends at START, +10, +20; now +30: the first frees a place at START + HOUR.
    assert ledger.reserve_send(ALICE, only(3)) == pytest.approx(HOUR - 30)
    assert ledger.status(ALICE).sends_last_hour == 3
    # A refused attempt is not recorded: the wait does not grow.
    assert ledger.reserve_send(ALICE, only(3)) == pytest.approx(HOUR - 30)


def test_the_wait_is_never_reported_as_less_than_a_second(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    assert ledger.reserve_send(ALICE, only(1)) == 0
    clock.advance(HOUR - 0.25)
    assert ledger.reserve_send(ALICE, only(1)) == 1.0


def test_sends_older_than_an_hour_expire(ledger: LimitsLedger, clock: FakeClock) -> None:
    assert ledger.reserve_send(ALICE, only(2)) == 0
    clock.advance(1800)
    assert ledger.reserve_send(ALICE, only(2)) == 0
    clock.advance(HOUR - 1800)  # exactly an hour after the first: it no longer counts
    assert ledger.status(ALICE).sends_last_hour == 1
    assert ledger.reserve_send(ALICE, only(2)) == 0
    clock.advance(HOUR)
    assert ledger.status(ALICE).sends_last_hour == 0


def test_a_smaller_budget_counts_the_sends_already_made(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    for _ in range(4):
        assert ledger.reserve_send(ALICE, only(5)) == 0
        clock.advance(60)
    # The operator lowered max_sends_per_hour to 2: wait for the 3rd-newest-but-one to age out.
    assert ledger.reserve_send(ALICE, only(2)) == pytest.approx(2 * 60 + HOUR - 4 * 60)


def test_addresses_have_separate_budgets(ledger: LimitsLedger) -> None:
    assert ledger.reserve_send(ALICE, only(1)) == 0
    assert ledger.reserve_send(ALICE, only(1)) > 0
    assert ledger.reserve_send(BOB, only(1)) == 0
    assert ledger.status(BOB).sends_last_hour == 1


def test_the_wall_clock_going_back_does_not_free_sends(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    assert ledger.reserve_send(ALICE, only(2)) == 0
    clock.advance(1)
    assert ledger.reserve_send(ALICE, only(2)) == 0
    clock.advance(-2 * HOUR)
    wait = ledger.reserve_send(ALICE, only(2))
    # Both sends are "in the future" now; the first one frees a place at START + HOUR.
    assert wait == pytest.approx(START + HOUR - clock.now)
    assert wait > HOUR


def test_wrong_codes_are_counted_and_returned(ledger: LimitsLedger) -> None:
    for expected in (1, 2, 3):
        entry = record_wrong_code(ledger, ALICE)
        assert (entry.wrong_codes, entry.consecutive_failures) == (expected, expected)
    assert ledger.status(ALICE) == LedgerEntry(0, 3, 3, 0.0)
    assert ledger.status(BOB) == LedgerEntry(0, 0, 0, 0.0)


def test_a_lock_expires_and_restarts_wrong_codes_but_not_consecutive_failures(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    for _ in range(5):
        record_wrong_code(ledger, ALICE)
    lock(ledger, ALICE, 900)
    assert ledger.status(ALICE) == LedgerEntry(0, 0, 5, 900.0)
    clock.advance(100)
    assert ledger.status(ALICE).locked_for == pytest.approx(800)
    clock.advance(800)
    assert ledger.status(ALICE).locked_for == 0
    assert record_wrong_code(ledger, ALICE) == LedgerEntry(0, 1, 6, 0.0)


def test_a_shorter_lock_never_shortens_a_longer_one(ledger: LimitsLedger, clock: FakeClock) -> None:
    lock(ledger, ALICE, 900)
    clock.advance(100)
    lock(ledger, ALICE, 10)
    assert ledger.status(ALICE).locked_for == pytest.approx(800)


def test_a_forever_lock_lasts_until_an_operator_unlocks(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    for _ in range(3):
        record_wrong_code(ledger, ALICE)
    lock(ledger, ALICE, FOREVER)
    clock.advance(10 * 365 * 24 * HOUR)
    assert ledger.status(ALICE).locked_for == FOREVER
    lock(ledger, ALICE, 900)  # a timed lock on top changes nothing
    assert ledger.status(ALICE).locked_for == FOREVER
    ledger.unlock(ALICE)
    assert ledger.status(ALICE) == LedgerEntry(0, 0, 0, 0.0)


def test_unlock_keeps_the_send_budget(ledger: LimitsLedger) -> None:
    assert ledger.reserve_send(ALICE, only(1)) == 0
    lock(ledger, ALICE, 900)
    ledger.unlock(ALICE)
    assert ledger.status(ALICE).sends_last_hour == 1
    assert ledger.reserve_send(ALICE, only(1)) > 0


def test_a_success_resets_the_failure_counts_but_lifts_no_lock(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    for _ in range(4):
        record_wrong_code(ledger, ALICE)
    lock(ledger, ALICE, 900)
    record_wrong_code(ledger, ALICE)
    ledger.record_success(ALICE)
    assert ledger.status(ALICE) == LedgerEntry(0, 0, 0, 900.0)


# -- budgets across addresses -------------------------------------------------------------------


def test_the_total_budget_holds_across_addresses(ledger: LimitsLedger, clock: FakeClock) -> None:
    budget = SendBudget(per_address=5, total=3, per_requester=100)
    for number in range(3):
        assert ledger.reserve_send(f"user{number}@example.com", budget) == 0
        clock.advance(10)
    # A fresh address gets no fresh budget: the first send frees a place at START + HOUR.
    assert ledger.reserve_send("fresh@example.com", budget) == pytest.approx(HOUR - 30)
    assert ledger.status("fresh@example.com").sends_last_hour == 0  # nothing recorded
    clock.advance(HOUR - 30)
    assert ledger.reserve_send("fresh@example.com", budget) == 0


def test_each_requester_has_a_budget_across_addresses(ledger: LimitsLedger) -> None:
    alice = Requester(user="alice", ssh_client="203.0.113.9").budget_names
    bob = Requester(user="bob", ssh_client="198.51.100.7").budget_names
    carol_same_client = Requester(user="carol", ssh_client="203.0.113.9").budget_names

    def budget(names: tuple[str, ...]) -> SendBudget:
        return SendBudget(per_address=5, total=100, per_requester=2, requesters=names)

    assert ledger.reserve_send("a@example.com", budget(alice)) == 0
    assert ledger.reserve_send("b@example.com", budget(alice)) == 0
    assert ledger.reserve_send("c@example.com", budget(alice)) > 0
    assert ledger.reserve_send("c@example.com", budget(bob)) == 0
    # Another user from the same SSH client shares the client's budget.
    assert ledger.reserve_send("d@example.com", budget(carol_same_client)) > 0
    assert ledger.status("c@example.com").sends_last_hour == 1


def test_a_send_refused_by_one_budget_is_recorded_in_none(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    names = Requester(user="alice").budget_names
    tight = SendBudget(per_address=1, total=100, per_requester=100, requesters=names)
    assert ledger.reserve_send(ALICE, tight) == 0
    assert ledger.reserve_send(ALICE, tight) > 0
    roomy = SendBudget(per_address=100, total=2, per_requester=2, requesters=names)
    # Had the refusal been counted, the shared budgets would be full now.
    assert ledger.reserve_send(BOB, roomy) == 0
    assert ledger.reserve_send("carol@example.com", roomy) > 0


def test_the_longest_wait_among_full_budgets_is_reported(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    names = Requester(user="alice").budget_names
    assert ledger.reserve_send(BOB, SendBudget(5, 100, 100, names)) == 0  # a user send at START
    clock.advance(600)
    assert ledger.reserve_send(ALICE, SendBudget(5, 100, 100, names)) == 0  # START + 600
    # Alice's address is full until START+600+HOUR, the user's until START+HOUR: the later.
    assert ledger.reserve_send(ALICE, SendBudget(1, 100, 1, names)) == pytest.approx(HOUR)


def test_an_ipv6_client_is_one_budget_for_its_whole_64() -> None:
    one = Requester(ssh_client="2001:db8:1:2::5").budget_names
    other = Requester(ssh_client="2001:db8:1:2:ffff::1").budget_names
    mapped = Requester(ssh_client="::ffff:203.0.113.9").budget_names
    assert one == other == ("ssh:2001:db8:1:2::/64",)
    assert mapped == Requester(ssh_client="203.0.113.9").budget_names == ("ssh:203.0.113.9",)
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 address"):
        Requester(ssh_client="203.0.113.9 50000 22")


# -- admitting guesses ---------------------------------------------------------------------------


def test_a_guess_is_counted_as_wrong_when_it_is_admitted(ledger: LimitsLedger) -> None:
    assert ledger.admit_guess(ALICE, LIMITS, "g1") == GuessAdmitted(attempts_left=2)
    assert ledger.status(ALICE) == LedgerEntry(0, 1, 1, 0.0)
    assert ledger.admit_guess(ALICE, LIMITS, "g2") == GuessAdmitted(attempts_left=1)


def test_the_guess_that_reaches_the_limit_locks_in_the_same_step(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    for token in ("g1", "g2"):
        ledger.admit_guess(ALICE, LIMITS, token)
    assert ledger.admit_guess(ALICE, LIMITS, "g3") == GuessAdmitted(0, lock=900.0)
    assert ledger.status(ALICE) == LedgerEntry(0, 0, 3, 900.0)
    clock.advance(100)
    refused = ledger.admit_guess(ALICE, LIMITS, "g4")
    assert isinstance(refused, GuessRefused)
    assert refused.locked_for == pytest.approx(800.0)
    assert ledger.status(ALICE).consecutive_failures == 3  # a refused guess is not counted


def test_consecutive_failures_lock_forever_first(ledger: LimitsLedger, clock: FakeClock) -> None:
    limits = GuessLimits(max_attempts=3, lockout=900, max_consecutive_failures=6)
    verdicts = []
    for number in range(6):
        verdicts.append(ledger.admit_guess(ALICE, limits, f"g{number}"))
        clock.advance(900)
    assert verdicts[2] == GuessAdmitted(0, lock=900.0)
    assert verdicts[5] == GuessAdmitted(0, lock=FOREVER)
    assert ledger.status(ALICE).locked_for == FOREVER


def test_a_right_guess_lifts_only_the_lock_it_set_off(ledger: LimitsLedger) -> None:
    for token in ("g1", "g2", "g3"):
        ledger.admit_guess(ALICE, LIMITS, token)
    ledger.record_success(ALICE, "g2")  # an earlier guess matched: the lock stays
    assert ledger.status(ALICE) == LedgerEntry(0, 0, 0, 900.0)
    ledger.unlock(ALICE)
    for token in ("h1", "h2", "h3"):
        ledger.admit_guess(ALICE, LIMITS, token)
    ledger.record_success(ALICE, "h3")  # the last allowed guess matched: no lock is left
    assert ledger.status(ALICE) == LedgerEntry(0, 0, 0, 0.0)


def test_a_lock_set_elsewhere_is_not_lifted_by_a_success(ledger: LimitsLedger) -> None:
    ledger.admit_guess(ALICE, GuessLimits(1, 900, 100), "g1")
    lock(ledger, ALICE, 1800)  # set on top by something else: the token no longer owns it
    ledger.record_success(ALICE, "g1")
    assert ledger.status(ALICE).locked_for == 1800


def test_a_lockout_of_zero_still_reports_the_lock(ledger: LimitsLedger) -> None:
    limits = GuessLimits(max_attempts=1, lockout=0, max_consecutive_failures=100)
    assert ledger.admit_guess(ALICE, limits, "g1") == GuessAdmitted(0, lock=0.0)
    assert ledger.admit_guess(ALICE, limits, "g2") == GuessAdmitted(0, lock=0.0)
    assert ledger.status(ALICE) == LedgerEntry(0, 0, 2, 0.0)


# -- the same random history through both ledgers ------------------------------------------------

_address = st.sampled_from([ALICE, BOB])
_budget = st.builds(
    SendBudget,
    per_address=st.integers(1, 4),
    total=st.integers(1, 6),
    per_requester=st.integers(1, 3),
    requesters=st.sampled_from([(), ("user:alice",), ("user:bob", "ssh:203.0.113.9")]),
)
_limits = st.builds(
    GuessLimits,
    max_attempts=st.integers(1, 4),
    lockout=st.sampled_from([0.0, 60.0, 900.0]),
    max_consecutive_failures=st.integers(1, 8),
)
_operation = st.one_of(
    st.tuples(st.just("advance"), st.sampled_from([-2 * HOUR, -1.0, 0.5, 59.0, 900.0, HOUR])),
    st.tuples(st.just("status"), _address),
    st.tuples(st.just("reserve_send"), _address, _budget),
    st.tuples(st.just("admit_guess"), _address, _limits, st.sampled_from(["t1", "t2", "t3"])),
    st.tuples(st.just("record_wrong_code"), _address),
    st.tuples(st.just("lock"), _address, st.sampled_from([0.0, 60.0, 900.0, FOREVER])),
    st.tuples(st.just("record_success"), _address, st.sampled_from([None, "t1", "t2", "t3"])),
    st.tuples(st.just("unlock"), _address),
)


class CoreRules:
    """The core's rules (`judge_guess`, `after_success`, `wait_for_send`) applied to plain
    dicts, with nothing around them. As in every ledger, a send forgets the stamps that no
    longer count in the windows it is checked against (a clock stepped back later does not
    bring them back); nothing else is ever pruned."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.guesses: dict[str, GuessCounts] = {}
        self.sends: dict[str, list[float]] = {}
        self.budgets: dict[str, list[float]] = {}

    def status(self, address: str) -> LedgerEntry:
        counts, now = self.guesses.get(address, GuessCounts()), self.clock.now
        return LedgerEntry(
            len(recent(self.sends.get(address, []), now)),
            counts.wrong_codes,
            counts.consecutive_failures,
            max(0.0, counts.locked_until - now),
        )

    def reserve_send(self, address: str, budget: SendBudget) -> float:
        now = self.clock.now
        self.sends[address] = recent(self.sends.get(address, []), now)
        for name, _per_hour in budget.windows():
            self.budgets[name] = recent(self.budgets.get(name, []), now)
        wait = wait_for_send(self.sends[address], budget, self.budgets, now)
        if wait == 0:
            self.sends[address].append(now)
            for name, _per_hour in budget.windows():
                self.budgets[name].append(now)
        return wait

    def admit_guess(self, address: str, limits: GuessLimits, token: str) -> GuessVerdict:
        counts = self.guesses.get(address, GuessCounts())
        verdict, self.guesses[address] = judge_guess(counts, limits, token, self.clock.now)
        return verdict

    def record_success(self, address: str, token: str | None = None) -> None:
        self.guesses[address] = after_success(self.guesses.get(address, GuessCounts()), token)

    def unlock(self, address: str) -> None:
        self.guesses[address] = GuessCounts()

    def budget_sends(self, name: str) -> int:
        return len(recent(self.budgets.get(name, []), self.clock.now))


# What a run does: no scene set by hand.
_run_operation = st.one_of(
    st.tuples(st.just("advance"), st.sampled_from([-2 * HOUR, -1.0, 0.5, 59.0, 900.0, HOUR])),
    st.tuples(st.just("status"), _address),
    st.tuples(st.just("reserve_send"), _address, _budget),
    st.tuples(st.just("admit_guess"), _address, _limits, st.sampled_from(["t1", "t2", "t3"])),
    st.tuples(st.just("record_success"), _address, st.sampled_from([None, "t1", "t2", "t3"])),
    st.tuples(st.just("unlock"), _address),
)


@contextlib.contextmanager
def _opened(backend: str, clock: FakeClock, servers: pytest.FixtureRequest) -> Any:
    if backend == "memory":
        yield MemoryLedger(clock)
    elif backend == "cluster":
        cluster = servers.getfixturevalue("redis_cluster")
        cluster.flush()
        with RedisLedger.from_url(cluster.url(), clock=clock) as ledger:
            yield ledger
    elif backend == "sentinel":
        group = servers.getfixturevalue("sentinel_group")
        group.flush()
        with RedisLedger.from_url(group.url(), clock=clock, replicas=1) as ledger:
            yield ledger
    elif backend == "redis":
        redis_server = servers.getfixturevalue("redis_server")
        redis_server.flush()
        with RedisLedger.from_url(redis_server.url(), clock=clock) as ledger:
            yield ledger
    else:
        with (
            tempfile.TemporaryDirectory() as directory,
            SqliteLedger(Path(directory) / "ledger.sqlite3", clock=clock) as ledger,
        ):
            yield ledger


@pytest.mark.parametrize("backend", ["memory", "sqlite", "redis", "sentinel", "cluster"])
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(operations=st.lists(_run_operation, max_size=40))
def test_every_ledger_decides_exactly_as_the_core_rules(
    backend: str, request: pytest.FixtureRequest, operations: list[tuple[Any, ...]]
) -> None:
    """No ledger decides anything of its own: the same history gives the same verdicts, waits
    and counts as the core's functions, on every ledger (the Redis one's Lua included)."""
    clock = FakeClock(START)
    rules = CoreRules(clock)
    with _opened(backend, clock, request) as ledger:
        for name, *args in operations:
            if name == "advance":
                clock.advance(args[0])
                continue
            expected = getattr(rules, name)(*args)
            assert getattr(ledger, name)(*args) == expected, (name, args)
        for address in (ALICE, BOB):
            assert ledger.status(address) == rules.status(address)
        for name in (TOTAL, "user:alice", "user:bob", "ssh:203.0.113.9"):
            assert budget_sends(ledger, name) == rules.budget_sends(name), name


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(operations=st.lists(_operation, max_size=40))
def test_each_ledger_answers_exactly_as_the_memory_ledger(
    backend: str, request: pytest.FixtureRequest, operations: list[tuple[Any, ...]]
) -> None:
    clock = FakeClock(START)
    reference = MemoryLedger(clock)
    scenes = {"record_wrong_code": record_wrong_code, "lock": lock}
    with _opened(backend, clock, request) as other:
        for name, *args in operations:
            if name == "advance":
                clock.advance(args[0])
                continue
            if name in scenes:
                expected = scenes[name](reference, *args)
                assert scenes[name](other, *args) == expected, (name, args)
                continue
            expected = getattr(reference, name)(*args)
            assert getattr(other, name)(*args) == expected, (name, args)
        for address in (ALICE, BOB):
            assert other.status(address) == reference.status(address)
        for name in (TOTAL, "user:alice", "user:bob", "ssh:203.0.113.9"):
            assert budget_sends(other, name) == budget_sends(reference, name), name
