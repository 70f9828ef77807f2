"""The LimitsLedger contract, run against MemoryLedger and SqliteLedger alike.

The scenarios pin the meaning the core relies on; the hypothesis test at the end drives both
ledgers through the same random history and demands identical answers at every step.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from state_helpers import START, FakeClock

from otp_tui.core.limits import FOREVER, HOUR, LedgerEntry, LimitsLedger, MemoryLedger
from otp_tui.state.ledger import SqliteLedger

ALICE = "alice@example.com"
BOB = "bob@example.com"


def test_an_unknown_address_has_nothing_recorded(ledger: LimitsLedger) -> None:
    assert ledger.status(ALICE) == LedgerEntry(0, 0, 0, 0.0)


def test_the_hourly_budget_refuses_with_the_time_until_the_oldest_send_ages_out(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    for _ in range(3):
        assert ledger.reserve_send(ALICE, per_hour=3) == 0
        clock.advance(10)
    # Sends at START, +10, +20; now +30: the first frees a place at START + HOUR.
    assert ledger.reserve_send(ALICE, per_hour=3) == pytest.approx(HOUR - 30)
    assert ledger.status(ALICE).sends_last_hour == 3
    # A refused attempt is not recorded: the wait does not grow.
    assert ledger.reserve_send(ALICE, per_hour=3) == pytest.approx(HOUR - 30)


def test_the_wait_is_never_reported_as_less_than_a_second(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    assert ledger.reserve_send(ALICE, per_hour=1) == 0
    clock.advance(HOUR - 0.25)
    assert ledger.reserve_send(ALICE, per_hour=1) == 1.0


def test_sends_older_than_an_hour_expire(ledger: LimitsLedger, clock: FakeClock) -> None:
    assert ledger.reserve_send(ALICE, per_hour=2) == 0
    clock.advance(1800)
    assert ledger.reserve_send(ALICE, per_hour=2) == 0
    clock.advance(HOUR - 1800)  # exactly an hour after the first: it no longer counts
    assert ledger.status(ALICE).sends_last_hour == 1
    assert ledger.reserve_send(ALICE, per_hour=2) == 0
    clock.advance(HOUR)
    assert ledger.status(ALICE).sends_last_hour == 0


def test_a_smaller_budget_counts_the_sends_already_made(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    for _ in range(4):
        assert ledger.reserve_send(ALICE, per_hour=5) == 0
        clock.advance(60)
    # The operator lowered max_sends_per_hour to 2: wait for the 3rd-newest-but-one to age out.
    assert ledger.reserve_send(ALICE, per_hour=2) == pytest.approx(2 * 60 + HOUR - 4 * 60)


def test_addresses_have_separate_budgets(ledger: LimitsLedger) -> None:
    assert ledger.reserve_send(ALICE, per_hour=1) == 0
    assert ledger.reserve_send(ALICE, per_hour=1) > 0
    assert ledger.reserve_send(BOB, per_hour=1) == 0
    assert ledger.status(BOB).sends_last_hour == 1


def test_the_wall_clock_going_back_does_not_free_sends(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    assert ledger.reserve_send(ALICE, per_hour=2) == 0
    clock.advance(1)
    assert ledger.reserve_send(ALICE, per_hour=2) == 0
    clock.advance(-2 * HOUR)
    wait = ledger.reserve_send(ALICE, per_hour=2)
    # Both sends are "in the future" now; the first one frees a place at START + HOUR.
    assert wait == pytest.approx(START + HOUR - clock.now)
    assert wait > HOUR


def test_wrong_codes_are_counted_and_returned(ledger: LimitsLedger) -> None:
    for expected in (1, 2, 3):
        entry = ledger.record_wrong_code(ALICE)
        assert (entry.wrong_codes, entry.consecutive_failures) == (expected, expected)
    assert ledger.status(ALICE) == LedgerEntry(0, 3, 3, 0.0)
    assert ledger.status(BOB) == LedgerEntry(0, 0, 0, 0.0)


def test_a_lock_expires_and_restarts_wrong_codes_but_not_consecutive_failures(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    for _ in range(5):
        ledger.record_wrong_code(ALICE)
    ledger.lock(ALICE, 900)
    assert ledger.status(ALICE) == LedgerEntry(0, 0, 5, 900.0)
    clock.advance(100)
    assert ledger.status(ALICE).locked_for == pytest.approx(800)
    clock.advance(800)
    assert ledger.status(ALICE).locked_for == 0
    assert ledger.record_wrong_code(ALICE) == LedgerEntry(0, 1, 6, 0.0)


def test_a_shorter_lock_never_shortens_a_longer_one(ledger: LimitsLedger, clock: FakeClock) -> None:
    ledger.lock(ALICE, 900)
    clock.advance(100)
    ledger.lock(ALICE, 10)
    assert ledger.status(ALICE).locked_for == pytest.approx(800)


def test_a_forever_lock_lasts_until_an_operator_unlocks(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    for _ in range(3):
        ledger.record_wrong_code(ALICE)
    ledger.lock(ALICE, FOREVER)
    clock.advance(10 * 365 * 24 * HOUR)
    assert ledger.status(ALICE).locked_for == FOREVER
    ledger.lock(ALICE, 900)  # a timed lock on top changes nothing
    assert ledger.status(ALICE).locked_for == FOREVER
    ledger.unlock(ALICE)
    assert ledger.status(ALICE) == LedgerEntry(0, 0, 0, 0.0)


def test_unlock_keeps_the_send_budget(ledger: LimitsLedger) -> None:
    assert ledger.reserve_send(ALICE, per_hour=1) == 0
    ledger.lock(ALICE, 900)
    ledger.unlock(ALICE)
    assert ledger.status(ALICE).sends_last_hour == 1
    assert ledger.reserve_send(ALICE, per_hour=1) > 0


def test_a_success_resets_the_failure_counts_but_lifts_no_lock(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    for _ in range(4):
        ledger.record_wrong_code(ALICE)
    ledger.lock(ALICE, 900)
    ledger.record_wrong_code(ALICE)
    ledger.record_success(ALICE)
    assert ledger.status(ALICE) == LedgerEntry(0, 0, 0, 900.0)


# -- the same random history through both ledgers ------------------------------------------------

_address = st.sampled_from([ALICE, BOB])
_operation = st.one_of(
    st.tuples(st.just("advance"), st.sampled_from([-2 * HOUR, -1.0, 0.5, 59.0, 900.0, HOUR])),
    st.tuples(st.just("status"), _address),
    st.tuples(st.just("reserve_send"), _address, st.integers(1, 4)),
    st.tuples(st.just("record_wrong_code"), _address),
    st.tuples(st.just("lock"), _address, st.sampled_from([0.0, 60.0, 900.0, FOREVER])),
    st.tuples(st.just("record_success"), _address),
    st.tuples(st.just("unlock"), _address),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_operation, max_size=40))
def test_sqlite_answers_exactly_as_the_memory_ledger(operations: list[tuple[Any, ...]]) -> None:
    clock = FakeClock()
    reference = MemoryLedger(clock)
    with (
        tempfile.TemporaryDirectory() as directory,
        SqliteLedger(Path(directory) / "ledger.sqlite3", clock=clock) as sqlite_ledger,
    ):
        for name, *args in operations:
            if name == "advance":
                clock.advance(args[0])
                continue
            expected = getattr(reference, name)(*args)
            assert getattr(sqlite_ledger, name)(*args) == expected, (name, args)
        for address in (ALICE, BOB):
            assert sqlite_ledger.status(address) == reference.status(address)
