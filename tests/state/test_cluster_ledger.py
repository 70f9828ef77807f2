"""The ledger on a Redis Cluster of three masters (redis_cluster.py), real processes on
127.0.0.1: races lose no count and overspend no shared budget although the budgets lie in other
slots than the address, two hosts share one lock, and a slot moved mid-run loses nothing."""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import state_workers
from fault_run import (
    OWN_ATTEMPTS,
    PER_ADDRESS,
    TOTAL_SENDS,
    Fleet,
    counts_only_rise,
    nothing_went_down,
)
from ledger_scenes import budget_sends
from redis_cluster import RedisClusterGroup, addresses_in_slot_of, node_id, snapshot_all
from state_helpers import run_all

from otp_tui.config.loading import ConfigError, ConfigFile, load_settings
from otp_tui.config.schema import Settings, StateSettings
from otp_tui.core.limits import TOTAL, GuessAdmitted, GuessLimits, GuessRefused, LedgerEntry
from otp_tui.state.errors import LedgerError
from otp_tui.state.ledger_check import check_ledger
from otp_tui.state.redis_ledger import RedisLedger, address_keys

ALICE = "alice@example.com"
LIMITS = GuessLimits(max_attempts=3, lockout=900, max_consecutive_failures=100)


def test_fifty_processes_on_one_address_lose_no_count(
    fresh_cluster: RedisClusterGroup, processes: Any
) -> None:
    codes = run_all(processes, state_workers.wrong_codes_on, (fresh_cluster.url(), [ALICE], 20))
    assert codes == [0] * 50
    with RedisLedger.from_url(fresh_cluster.url()) as ledger:
        assert ledger.status(ALICE) == LedgerEntry(0, 1000, 1000, 0.0)


@pytest.mark.slow
def test_fifty_processes_never_overspend_budgets_in_other_slots(
    fresh_cluster: RedisClusterGroup, processes: Any
) -> None:
    # Each worker sends to an address of its own; the total (30) and the shared requester's
    # budget (20) are keys in slots of their own, on other masters.
    codes = run_all(
        processes,
        state_workers.reserve_shared,
        (fresh_cluster.url(), ALICE, 30, 20),
    )
    assert Counter(codes) == {state_workers.RESERVED: 20, state_workers.REFUSED: 30}
    with RedisLedger.from_url(fresh_cluster.url()) as ledger:
        assert budget_sends(ledger, "user:racer") == 20
        # A place taken in the total by a worker that then lost the requester's race stays
        # taken: stricter, never beyond the budget.
        assert 20 <= budget_sends(ledger, TOTAL) <= 30


def test_two_hosts_share_one_lock_and_one_unlock(fresh_cluster: RedisClusterGroup) -> None:
    url = fresh_cluster.url()
    with RedisLedger.from_url(url) as host_a, RedisLedger.from_url(url) as host_b:
        assert host_a.admit_guess(ALICE, LIMITS, "a1") == GuessAdmitted(2)
        assert host_b.admit_guess(ALICE, LIMITS, "b1") == GuessAdmitted(1)
        assert host_a.admit_guess(ALICE, LIMITS, "a2") == GuessAdmitted(0, lock=900.0)
        assert isinstance(host_b.admit_guess(ALICE, LIMITS, "b2"), GuessRefused)
        host_b.unlock(ALICE)
        assert host_a.status(ALICE) == LedgerEntry(0, 0, 0, 0.0)


def test_a_slot_moved_while_fifty_processes_use_it_loses_nothing(
    fresh_cluster: RedisClusterGroup, processes: Any, tmp_path: Path
) -> None:
    """50 processes guess and send on one address and on 50 of their own, all in one slot,
    while that slot moves to another master key by key (as `redis-cli --cluster reshard` moves
    it): ASK is followed while it moves, MOVED after; no call fails, no count is lost, no limit
    is overspent."""
    cluster = fresh_cluster
    shared = "shared@example.com"
    owns = addresses_in_slot_of(shared, 50)
    state_key = address_keys(shared)[0]
    source = cluster.node_of(state_key)
    target = next(node for node in cluster.nodes if node is not source)
    with target.admin() as admin:
        admin.config_resetstat()
    fleet = Fleet.started(processes, cluster.url(), shared, owns, tmp_path, timeout=5)
    fleet.wait_for("under way")
    before = snapshot_all(cluster)
    # One key per MIGRATE: the slot is half-moved for many of the workers' calls.
    cluster.move_slot_of(state_key, source, target, batch=1)
    fleet.signals.fault.set()
    fleet.wait_for("through")  # each has locked its own address on the new owner
    records = fleet.stop()
    assert cluster.node_of(state_key) is target
    with target.admin() as admin:
        # Calls that met a key already moved were sent on with ASKING.
        assert int(admin.info("commandstats")["cmdstat_asking"]["calls"]) > 0
    nothing_went_down(before, snapshot_all(cluster))
    counts_only_rise(call for r in records for call in r["shared_counts"])
    assert [m for r in records for m in r["messages"]] == []
    with RedisLedger.from_url(cluster.url()) as ledger:
        admitted = sum(len(r["shared_counts"]) for r in records)
        assert ledger.status(shared).consecutive_failures == admitted
        for r in records:
            assert r["own_admitted"] == OWN_ATTEMPTS
            assert ledger.status(r["own"]).locked_for > 0
            assert r["own_reserved"] <= PER_ADDRESS
        assert sum(r["shared_reserved"] for r in records) <= PER_ADDRESS
        reserved = sum(r["own_reserved"] + r["shared_reserved"] for r in records)
        # On a Cluster a place taken in the total by a send the address's own window then
        # refused stays taken: the total may count more than the sends made, never more
        # than its budget.
        assert reserved <= budget_sends(ledger, TOTAL) <= TOTAL_SENDS


def test_check_names_the_masters_and_the_slots_covered(fresh_cluster: RedisClusterGroup) -> None:
    out = io.StringIO()
    assert check_ledger(Settings(state=StateSettings(ledger=fresh_cluster.url())), out)
    line = out.getvalue()
    assert line.startswith("ledger: Redis 7.")
    assert "(3 masters, 16384 of 16384 slots covered)" in line
    assert line.rstrip().endswith(": ok")


def test_ledger_replicas_on_a_cluster_is_refused(tmp_path: Any) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[state]\nledger = "redis+cluster://127.0.0.1:7000"\nledger_replicas = 1\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(ConfigFile(config, explicit=True), {})
    [line] = caught.value.problems
    assert "ledger_replicas is not supported on a Redis Cluster" in line


TIMEOUT = 3.0
SLACK = 1.5  # what a loaded two-core machine adds to the Python side of a call


def test_nodes_that_send_a_call_back_and_forth_end_it_in_one_sentence(
    fresh_cluster: RedisClusterGroup,
) -> None:
    """A slot its owner marks as migrating to a node that is not importing it: the owner
    answers ASK (the key is not there), the other node MOVED (the slot is not its own), for
    ever. The call ends in one sentence, at once, and nothing is counted."""
    address = "storm@example.com"
    state_key = address_keys(address)[0]
    source = fresh_cluster.node_of(state_key)
    target = next(node for node in fresh_cluster.nodes if node is not source)
    with source.admin() as admin:
        slot = int(admin.cluster("keyslot", state_key))
        admin.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", node_id(target))
    try:
        with RedisLedger.from_url(fresh_cluster.url(), timeout=TIMEOUT) as ledger:
            started = time.monotonic()
            with pytest.raises(LedgerError) as caught:
                ledger.admit_guess(address, LIMITS, "storm")
            assert time.monotonic() - started < TIMEOUT + SLACK
    finally:
        with source.admin() as admin:
            admin.execute_command("CLUSTER", "SETSLOT", slot, "STABLE")
    hosts = fresh_cluster.url().split("@")[1]
    assert str(caught.value) == (
        f"The Redis ledger at {hosts} answered an error:"
        " its nodes kept sending the command on to one another."
    )
    with RedisLedger.from_url(fresh_cluster.url()) as ledger:
        assert ledger.status(address) == LedgerEntry(0, 0, 0, 0.0)


def test_a_slot_flipping_between_two_masters_mid_run_loses_nothing(
    fresh_cluster: RedisClusterGroup,
) -> None:
    """The slot of the address a run guesses on moves from one master to the other and back,
    twenty times, with its keys: every call is answered (or, at worst, ends in one sentence
    within the deadline), never a hang or a traceback, and every answered guess is counted."""
    state_key = address_keys(ALICE)[0]
    first = fresh_cluster.node_of(state_key)
    second = next(node for node in fresh_cluster.nodes if node is not first)
    never_locks = GuessLimits(10**9, 900, 10**9)
    answered, failed, slowest = [0], [0], [0.0]
    messages: set[str] = set()
    errors: list[BaseException] = []
    progress, stop = threading.Event(), threading.Event()

    def guesses() -> None:
        try:
            with RedisLedger.from_url(fresh_cluster.url(), timeout=TIMEOUT) as ledger:
                while not stop.is_set():
                    started = time.monotonic()
                    try:
                        ledger.admit_guess(ALICE, never_locks, f"g{answered[0]}")
                        answered[0] += 1
                        progress.set()
                    except LedgerError as error:
                        failed[0] += 1
                        messages.add(str(error))
                    slowest[0] = max(slowest[0], time.monotonic() - started)
        except BaseException as error:  # reported below: a traceback is a failure
            errors.append(error)
            progress.set()

    worker = threading.Thread(target=guesses)
    worker.start()
    try:
        for flip in range(20):
            # Each flip starts once the run has been answered since the last: mid-run.
            assert progress.wait(60), "the run made no progress"
            progress.clear()
            source, target = (first, second) if flip % 2 == 0 else (second, first)
            fresh_cluster.move_slot_of(state_key, source, target, batch=1)
        assert progress.wait(60), "the run made no progress after the last flip"
    finally:
        stop.set()
        worker.join(60)
    assert not errors, errors
    assert fresh_cluster.node_of(state_key) is first
    assert slowest[0] < TIMEOUT + SLACK
    for message in messages:
        assert message.startswith("The Redis ledger at 127.0.0.1:"), message
    with RedisLedger.from_url(fresh_cluster.url()) as ledger:
        counted = ledger.status(ALICE).consecutive_failures
    # A call that failed may have counted; an answered one did.
    assert answered[0] <= counted <= answered[0] + failed[0]
