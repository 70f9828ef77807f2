"""The ledger behind Redis Sentinel, on real processes on 127.0.0.1: a primary, two replicas and
three sentinels (redis_group.py). A failover mid-run loses no count and overspends no budget,
every write waits for a replica when asked to, and every fault is one sentence in time."""

from __future__ import annotations

import io
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import state_workers
from fault_run import (
    OWN_ATTEMPTS,
    PER_ADDRESS,
    TOTAL_SENDS,
    WARM_ROUNDS,
    Fleet,
    counts_only_rise,
    nothing_went_down,
    snapshot,
)
from ledger_scenes import budget_sends
from redis_group import SentinelGroup
from redis_server import LOOPBACK, PASSWORD, RedisServer

from otp_tui.config.schema import Settings, StateSettings
from otp_tui.core.limits import TOTAL, GuessLimits, SendBudget
from otp_tui.state.errors import LedgerError
from otp_tui.state.ledger import open_ledger
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


def test_fifty_processes_through_a_failover_lose_no_count_and_overspend_nothing(
    group: SentinelGroup, processes: Any, tmp_path: Path
) -> None:
    """50 processes guess and send on one address and on 50 of their own while the primary is
    killed (SIGKILL, no chance to hand over) and the sentinels promote a replica: every count
    the replicas held when it died is still there, every guess admitted was told a count above
    every count told before it, no address was admitted more guesses than its limit and no
    budget overspent, and every call ended with an answer or one sentence within the deadline.
    """
    shared = "shared@example.com"
    owns = [f"own{n}@example.com" for n in range(50)]
    fleet = Fleet.started(
        processes, group.url(), shared, owns, tmp_path, timeout=TIMEOUT, replicas=1
    )
    fleet.wait_for("under way")  # each has used up its own send budget; the total is gone too
    killed = group.kill_primary()
    fleet.signals.fault.set()
    # What the replicas hold as the primary dies: the promoted one must keep all of it.
    before = {server.port: snapshot_of(server) for server in group.replicas}
    fleet.wait_for("through")  # answered by the new primary, own address locked there
    records = fleet.stop()
    group.wait_until_settled()
    promoted = group.primary_port()
    assert promoted != killed.port
    with group.server_on(promoted).admin() as admin:
        after = snapshot(admin)
    for was in before.values():
        nothing_went_down(was, after)
    counts_only_rise(call for r in records for call in r["shared_counts"])
    with RedisLedger.from_url(group.url(), timeout=TIMEOUT) as ledger:
        admitted = sum(len(r["shared_counts"]) for r in records)
        failed = sum(r["shared_failed"] for r in records)
        # A guess that failed may have counted (the script ran, the replica's answer did not
        # come); one that was admitted did.
        assert admitted <= ledger.status(shared).consecutive_failures <= admitted + failed
        for r in records:
            entry = ledger.status(r["own"])
            # The lock set after the failover holds, and no more guesses were admitted than the
            # limit allows (one beyond it could have verified a right code).
            assert r["own_admitted"] <= OWN_ATTEMPTS
            assert entry.locked_for > 0
            assert r["own_reserved"] <= PER_ADDRESS
        assert sum(r["shared_reserved"] for r in records) <= PER_ADDRESS
        reserved = sum(r["own_reserved"] + r["shared_reserved"] for r in records)
        assert reserved <= TOTAL_SENDS
        assert reserved <= budget_sends(ledger, TOTAL) <= TOTAL_SENDS
    # The run went through the failover: guesses were answered on both sides of it, and every
    # call, answered or failed, ended within the deadline, a failure in one sentence naming the
    # sentinels.
    assert admitted > 50 * WARM_ROUNDS
    assert max(r["slowest"] for r in records) < TIMEOUT + SLACK
    hosts = group.url().split("@")[1].rsplit("/", 1)[0]
    for message in {m for r in records for m in r["messages"]}:
        assert "\n" not in message
        assert PASSWORD not in message
        assert message.startswith((f"The Redis ledger at {hosts}", f"No Redis sentinel at {hosts}"))


def snapshot_of(server: RedisServer) -> dict[str, Any]:
    with server.admin() as admin:
        return snapshot(admin)


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


def test_behind_sentinel_with_its_only_replica_stopped_a_write_fails_closed_in_time(
    tmp_path: Path,
) -> None:
    """A primary, its only replica and three sentinels, `ledger_replicas = 1`: with the replica
    stopped (the primary is well, so nothing fails over), every write that counts ends in one
    sentence within the deadline, and a read still answers."""
    group = SentinelGroup(tmp_path / "group", replicas=1)
    try:
        hosts = group.url().split("@")[1].rsplit("/", 1)[0]
        with RedisLedger.from_url(group.url(), timeout=1.5, replicas=1) as ledger:
            ledger.admit_guess(ALICE, NEVER_LOCKS, "acknowledged")
            group.replicas[0].stop()
            for write in (
                lambda: ledger.admit_guess(ALICE, NEVER_LOCKS, "alone"),
                lambda: ledger.reserve_send(ALICE, SendBudget(5, 60, 10)),
            ):
                message = _failing_within(write, 1.5 + SLACK)
                assert message == (
                    f"The Redis ledger at {hosts}: 0 of the 1 replicas it must wait for"
                    " acknowledged the write within 1.5 seconds."
                )
            # The guess did land on the primary (WAIT undoes nothing): the run failed closed.
            assert ledger.status(ALICE).consecutive_failures == 2
    finally:
        group.stop()


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
        started = time.monotonic()
        ledger.admit_guess(ALICE, NEVER_LOCKS, "one sentinel down is no fault")
        assert time.monotonic() - started < TIMEOUT + SLACK
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


def test_sentinels_that_ask_a_password_are_reached_with_theirs(tmp_path: Path) -> None:
    """Sentinels with `requirepass` and data nodes with an ACL user: the URL's user and password
    (or ledger_password_file) reach the data nodes, ledger_sentinel_password_file the sentinels;
    a wrong or missing sentinel password is one sentence, at once rather than at the deadline."""
    group = SentinelGroup(tmp_path / "group", sentinel_password="sentinel-pw")
    try:
        right = tmp_path / "sentinel-pw"
        right.write_text("sentinel-pw\n")
        wrong = tmp_path / "wrong-pw"
        wrong.write_text("not-the-password\n")
        data_password = tmp_path / "ledger-pw"
        data_password.write_text(f"{PASSWORD}\n")
        for state in (
            StateSettings(ledger=group.url(), ledger_sentinel_password_file=right),
            StateSettings(
                ledger=group.url(password=None),
                ledger_password_file=data_password,
                ledger_sentinel_password_file=right,
                ledger_replicas=1,
            ),
        ):
            with open_ledger(Settings(state=state)) as ledger:
                ledger.admit_guess(ALICE, NEVER_LOCKS, "reached")
            out = io.StringIO()
            assert check_ledger(Settings(state=state), out)
            assert "3 of 3 sentinels" in out.getvalue()
        hosts = group.url().split("@")[1].rsplit("/", 1)[0]
        for sentinel_password in (wrong, None):
            state = StateSettings(
                ledger=group.url(), ledger_sentinel_password_file=sentinel_password
            )
            with open_ledger(Settings(state=state)) as ledger:
                message = _failing_within(lambda: ledger.status(ALICE), 2.0)
            assert message == (
                f"The Redis sentinels at {hosts} refused the password"
                " (state.ledger_sentinel_password_file)."
            )
            assert "not-the-password" not in message
        with RedisLedger.from_url(
            group.url(), timeout=TIMEOUT, sentinel_password_file=right
        ) as ledger:
            assert ledger.status(ALICE).consecutive_failures == 2
    finally:
        group.stop()


def test_a_sentinel_password_file_without_sentinels_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ledger_sentinel_password_file needs a redis"):
        StateSettings(
            ledger="redis://127.0.0.1:6379/0", ledger_sentinel_password_file=tmp_path / "pw"
        )
