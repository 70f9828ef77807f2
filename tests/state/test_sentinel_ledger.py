"""The ledger behind Redis Sentinel, on real processes on 127.0.0.1: a primary, two replicas and
three sentinels (redis_group.py). A failover mid-run loses no count and overspends no budget,
every write waits for a replica when asked to, and every fault is one sentence in time."""

from __future__ import annotations

import io
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import state_workers
from ledger_scenes import budget_sends
from redis_group import SERVICE, SentinelGroup
from redis_server import LOOPBACK, PASSWORD, RedisServer

from otp_tui.config.schema import Settings, StateSettings
from otp_tui.core.limits import TOTAL, GuessLimits, SendBudget
from otp_tui.state.errors import LedgerError
from otp_tui.state.ledger_check import check_ledger
from otp_tui.state.redis_ledger import RedisLedger, address_keys

ALICE = "alice@example.com"
NEVER_LOCKS = GuessLimits(*state_workers.NEVER_LOCKS)
TIMEOUT = 3.0
# A call ends within the deadline, plus what a loaded two-core machine adds to the Python side.
SLACK = 1.5


def _failing_within(call: Any, deadline: float) -> str:
    started = time.monotonic()
    with pytest.raises(LedgerError) as caught:
        call()
    assert time.monotonic() - started < deadline
    message = str(caught.value)
    assert "\n" not in message
    assert PASSWORD not in message
    return message


@pytest.fixture
def group(tmp_path: Path) -> Any:
    """A group of its own, for a test that kills or stops its members."""
    group = SentinelGroup(tmp_path / "group")
    try:
        yield group
    finally:
        group.stop()


def test_writes_wait_for_a_replica_and_the_group_is_followed(
    fresh_sentinel_group: SentinelGroup,
) -> None:
    group = fresh_sentinel_group
    with RedisLedger.from_url(group.url(), timeout=TIMEOUT, replicas=2) as ledger:
        assert ledger.reserve_send(ALICE, SendBudget(5, 60, 10)) == 0
        ledger.admit_guess(ALICE, NEVER_LOCKS, "t1")
    # Acknowledged by both replicas: each one holds the count already.
    counts = group.counts(f"otp-tui:{{{ALICE}}}:state")
    assert len(counts) == 3
    assert {value[b"c"] for value in counts.values()} == {b"1"}


def test_a_failover_mid_run_loses_no_count_and_overspends_no_budget(
    group: SentinelGroup, processes: Any, tmp_path: Path
) -> None:
    workers = 30
    shared = "shared@example.com"
    until = time.monotonic() + 12
    outs = [tmp_path / f"worker{n}.json" for n in range(workers)]
    barrier = processes.Barrier(workers + 1, timeout=60)
    started = [
        processes.Process(
            target=state_workers.through_a_failover,
            args=(
                group.url(),
                shared,
                f"own{n}@example.com",
                until,
                str(outs[n]),
                TIMEOUT,
                barrier,
            ),
        )
        for n in range(workers)
    ]
    for worker in started:
        worker.start()
    barrier.wait()
    # Let the run get going, then kill the primary outright (no chance to hand over).
    with group.server_on(group.primary_port()).admin() as admin:
        deadline = time.monotonic() + 20
        while int(admin.hget(f"otp-tui:{{{shared}}}:state", "c") or 0) < 100:
            assert time.monotonic() < deadline, "the workers made no progress"
            time.sleep(0.05)
    killed = group.kill_primary()
    for worker in started:
        worker.join(timeout=90)
    assert [worker.exitcode for worker in started] == [0] * workers
    group.wait_until_settled()
    assert group.primary_port() != killed.port
    records = [json.loads(out.read_text()) for out in outs]
    admitted = sum(r["admitted"] for r in records)
    admit_failed = sum(r["admit_failed"] for r in records)
    reserved = sum(r["reserved"] for r in records)
    reserve_failed = sum(r["reserve_failed"] for r in records)
    with RedisLedger.from_url(group.url(), timeout=TIMEOUT) as ledger:
        counted = ledger.status(shared).consecutive_failures
        # No count went down: every guess a worker was told was counted still is; a call that
        # failed may or may not have counted (the script ran, the replica's answer did not come).
        assert admitted <= counted <= admitted + admit_failed
        # No budget overspent, none forgotten.
        total = budget_sends(ledger, TOTAL)
        assert reserved <= total <= min(reserved + reserve_failed, state_workers.TOTAL_SENDS)
        for n in range(workers):
            assert ledger.status(f"own{n}@example.com").sends_last_hour <= state_workers.PER_ADDRESS
    # The run went through the failover: some calls waited it out, and every call, answered or
    # failed, ended within the deadline with at most one sentence naming the sentinels.
    assert admitted > 100
    assert max(r["slowest"] for r in records) < TIMEOUT + SLACK
    for message in {m for r in records for m in r["messages"]}:
        assert message.startswith("The Redis ledger at 127.0.0.1:"), message
        assert f"/{SERVICE}" in message


def test_with_its_only_replica_stopped_a_write_fails_closed_in_time(tmp_path: Path) -> None:
    primary = RedisServer(tmp_path / "primary")
    replica = RedisServer(tmp_path / "replica", extra=SentinelGroup._replica_of(primary.port))
    try:
        url = primary.url()
        with RedisLedger.from_url(url, timeout=1.5, replicas=1) as ledger:
            deadline = time.monotonic() + 20
            while True:  # a bounded poll until the replica has synced
                try:
                    ledger.admit_guess(ALICE, NEVER_LOCKS, "t0")
                    break
                except LedgerError:
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
            counted = ledger.status(ALICE).consecutive_failures
            replica.stop()
            message = _failing_within(
                lambda: ledger.admit_guess(ALICE, NEVER_LOCKS, "t1"), 1.5 + SLACK
            )
            assert message == (
                f"The Redis ledger at 127.0.0.1:{primary.port}: 0 of the 1 replicas it must wait"
                " for acknowledged the write within 1.5 seconds."
            )
            message = _failing_within(
                lambda: ledger.reserve_send(ALICE, SendBudget(5, 60, 10)), 1.5 + SLACK
            )
            assert "0 of the 1 replicas" in message
            # Reads need no replica: the count is there (the guess counted on the primary).
            assert ledger.status(ALICE).consecutive_failures == counted + 1
    finally:
        replica.stop()
        primary.stop()


def test_a_promoted_replica_is_sent_each_script_once(group: SentinelGroup) -> None:
    with RedisLedger.from_url(group.url(), timeout=TIMEOUT, replicas=1) as ledger:
        ledger.admit_guess(ALICE, NEVER_LOCKS, "before")
        old = group.primary_port()
        group.kill_primary()
        for number in range(5):
            ledger.admit_guess(ALICE, NEVER_LOCKS, f"after{number}")
        new = group.primary_port()
        assert new != old
        with group.server_on(new).admin() as admin:
            stats = admin.info("commandstats")
        # The promoted replica had no script cached: one NOSCRIPT, one EVAL with the source,
        # then EVALSHA for every later call.
        assert stats["cmdstat_eval"]["calls"] == 1
        assert stats["cmdstat_evalsha"]["calls"] >= 5
        assert ledger.status(ALICE).consecutive_failures == 6


def test_sentinels_down_are_one_sentence_in_time(group: SentinelGroup) -> None:
    url = group.url()
    group.sentinels[0].stop()
    with RedisLedger.from_url(url, timeout=TIMEOUT) as ledger:
        ledger.admit_guess(ALICE, NEVER_LOCKS, "one sentinel down is no fault")
    for sentinel in group.sentinels:
        sentinel.stop()
    with RedisLedger.from_url(url, timeout=TIMEOUT) as ledger:
        message = _failing_within(lambda: ledger.status(ALICE), TIMEOUT + SLACK)
    hosts = url.split("@")[1].rsplit("/", 1)[0]  # the sentinels and the service
    assert message == f"No Redis sentinel at {hosts} names a primary that answers."


def test_check_names_the_primary_its_replicas_and_the_sentinels(
    fresh_sentinel_group: SentinelGroup,
) -> None:
    group = fresh_sentinel_group
    settings = Settings(state=StateSettings(ledger=group.url(), ledger_replicas=1))
    out = io.StringIO()
    assert check_ledger(settings, out)
    line = out.getvalue()
    assert line.startswith("ledger: Redis 7.")
    assert f"primary {LOOPBACK}:{group.primary_port()}" in line
    assert "2 replicas" in line
    assert "3 of 3 sentinels" in line
    assert "ledger_replicas 1 met" in line
    assert line.rstrip().endswith(": ok")


def test_a_primary_restarted_empty_before_sentinel_notices_wipes_the_counts(
    group: SentinelGroup,
) -> None:
    """What the README says of a primary without persistence that restarts at once: Sentinel
    never sees it down, its replicas sync from it, and every count is gone from the group."""
    with RedisLedger.from_url(group.url(), timeout=TIMEOUT, replicas=2) as ledger:
        for number in range(5):
            ledger.admit_guess(ALICE, NEVER_LOCKS, f"t{number}")
        assert ledger.status(ALICE).consecutive_failures == 5  # on all three data nodes
        primary = group.server_on(group.primary_port())
        primary.stop()
        primary.start()  # at once, well within down-after-milliseconds, and empty
        group.wait_until_settled()
        assert group.primary_port() == primary.port  # no failover happened
        assert ledger.status(ALICE).consecutive_failures == 0
    assert list(group.counts(address_keys(ALICE)[0]).values()) == [{}, {}, {}]


def test_a_primary_that_stops_answering_is_one_sentence_in_time(group: SentinelGroup) -> None:
    """A primary cut off mid-run (stopped with SIGSTOP: it keeps its sockets and answers
    nothing): the call that may have reached it is never sent again, and ends in one sentence
    within the deadline; once the sentinels have promoted a replica, the next call goes there."""
    with RedisLedger.from_url(group.url(), timeout=TIMEOUT, replicas=1) as ledger:
        ledger.admit_guess(ALICE, NEVER_LOCKS, "before")
        primary = group.server_on(group.primary_port())
        assert primary.process is not None
        primary.process.send_signal(signal.SIGSTOP)
        try:
            message = _failing_within(
                lambda: ledger.admit_guess(ALICE, NEVER_LOCKS, "cut off"), TIMEOUT + SLACK
            )
            assert message == (
                f"The Redis ledger at {group.url().split('@')[1].rsplit('/', 1)[0]}"
                f" did not answer within {TIMEOUT:g} seconds."
            )
            deadline = time.monotonic() + 30
            while group.primary_port() == primary.port:  # a bounded poll for the promotion
                assert time.monotonic() < deadline
                time.sleep(0.1)
            ledger.admit_guess(ALICE, NEVER_LOCKS, "after")
        finally:
            primary.process.send_signal(signal.SIGCONT)
