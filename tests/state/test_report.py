"""`otp-tui status` and `otp-tui unlock` as functions: the words, and the address they reach."""

from __future__ import annotations

import json
from datetime import UTC

import pytest
from ledger_scenes import lock, record_wrong_code
from state_helpers import FakeClock

from otp_tui.core.limits import FOREVER, LedgerEntry, LimitsLedger, SendBudget
from otp_tui.state.report import AddressArgumentError, status_lines, status_record, unlock

# START is 2023-11-14 22:13:20 UTC.
ALICE = "alice@example.com"  # the ledger key: the whole address case folded


def test_a_fresh_address_reports_nothing(ledger: LimitsLedger, clock: FakeClock) -> None:
    assert status_lines(ledger, ALICE, clock=clock, tz=UTC) == [
        "address: alice@example.com",
        "sends in the last hour: 0",
        "wrong codes since the last lock: 0",
        "consecutive failures: 0",
        "not locked",
    ]


def test_the_command_line_address_is_normalised_like_the_core_does(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    ledger.reserve_send(ALICE, SendBudget(per_address=5, total=60, per_requester=10))
    record_wrong_code(ledger, ALICE)
    lock(ledger, ALICE, 900)
    record_wrong_code(ledger, ALICE)
    assert status_lines(ledger, "  Alice@EXAMPLE.com ", clock=clock, tz=UTC) == [
        "address: alice@example.com",
        "sends in the last hour: 1",
        "wrong codes since the last lock: 1",
        "consecutive failures: 2",
        "locked until 2023-11-14 22:29 UTC",
    ]


def test_a_forever_lock_says_who_can_lift_it(ledger: LimitsLedger, clock: FakeClock) -> None:
    lock(ledger, ALICE, FOREVER)
    assert status_lines(ledger, ALICE, clock=clock)[-1] == "locked until an operator unlocks it"
    assert status_record(ledger, ALICE, clock=clock)["locked_until"] == "forever"


def test_a_lock_beyond_the_calendar_is_still_reported(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    lock(ledger, ALICE, 1e300)
    assert (
        status_lines(ledger, ALICE, clock=clock)[-1] == f"locked until {1e300:.0f} seconds from now"
    )


def test_the_json_record_carries_the_same_facts(ledger: LimitsLedger, clock: FakeClock) -> None:
    record_wrong_code(ledger, ALICE)
    lock(ledger, ALICE, 60)
    record = status_record(ledger, ALICE, clock=clock)
    assert json.loads(json.dumps(record)) == {
        "address": "alice@example.com",
        "sends_last_hour": 0,
        "wrong_codes": 0,
        "consecutive_failures": 1,
        "locked_until": "2023-11-14T22:14:20+00:00",
    }
    clock.advance(60)
    assert status_record(ledger, ALICE, clock=clock)["locked_until"] is None


def test_a_bad_address_is_refused_with_the_reason(ledger: LimitsLedger) -> None:
    with pytest.raises(AddressArgumentError, match="not an email address"):
        status_lines(ledger, "alice at example")
    with pytest.raises(AddressArgumentError):
        unlock(ledger, "@example.com")


def test_unlock_lifts_a_timed_lock_and_says_until_when_it_was(
    ledger: LimitsLedger, clock: FakeClock
) -> None:
    for _ in range(5):
        record_wrong_code(ledger, ALICE)
    lock(ledger, ALICE, 900)
    assert unlock(ledger, "Alice@EXAMPLE.com", clock, UTC) == (
        "Unlocked alice@example.com: lifted the lock until 2023-11-14 22:29 UTC"
        " and cleared 5 consecutive failures."
    )
    assert ledger.status(ALICE) == LedgerEntry(0, 0, 0, 0.0)


def test_unlock_lifts_an_operator_lock(ledger: LimitsLedger) -> None:
    record_wrong_code(ledger, ALICE)
    lock(ledger, ALICE, FOREVER)
    assert unlock(ledger, ALICE) == (
        "Unlocked alice@example.com: lifted the lock that waited for an operator"
        " and cleared 1 consecutive failure."
    )
    assert ledger.status(ALICE).locked_for == 0


def test_unlock_without_a_lock_says_what_little_it_did(ledger: LimitsLedger) -> None:
    assert unlock(ledger, ALICE) == (
        "alice@example.com was not locked and had no failures; nothing changed."
    )
    record_wrong_code(ledger, ALICE)
    record_wrong_code(ledger, ALICE)
    assert (
        unlock(ledger, ALICE) == "alice@example.com was not locked; cleared 2 consecutive failures."
    )
    assert ledger.status(ALICE) == LedgerEntry(0, 0, 0, 0.0)
