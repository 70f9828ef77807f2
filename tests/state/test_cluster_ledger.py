"""The ledger on a Redis Cluster of three masters (redis_cluster.py), real processes on
127.0.0.1: races lose no count and overspend no shared budget although the budgets lie in other
slots than the address, two hosts share one lock, and a slot moved mid-run loses nothing."""

from __future__ import annotations

import io
import threading
from collections import Counter
from typing import Any

import pytest
import state_workers
from ledger_scenes import budget_sends
from redis_cluster import RedisClusterGroup
from state_helpers import run_all

from otp_tui.config.loading import ConfigError, ConfigFile, load_settings
from otp_tui.config.schema import Settings, StateSettings
from otp_tui.core.limits import TOTAL, GuessAdmitted, GuessLimits, GuessRefused, LedgerEntry
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


def test_a_slot_moved_mid_run_loses_nothing(fresh_cluster: RedisClusterGroup) -> None:
    state_key = address_keys(ALICE)[0]
    never_locks = GuessLimits(10**9, 900, 10**9)
    counted: list[int] = []
    errors: list[BaseException] = []
    moving = threading.Event()
    moved = threading.Event()

    def guesses() -> None:
        try:
            with RedisLedger.from_url(fresh_cluster.url(), timeout=5) as ledger:
                number = 0
                while not moved.is_set() or number < 400:
                    number += 1
                    ledger.admit_guess(ALICE, never_locks, f"g{number}")
                    counted.append(number)
                    if number == 100:
                        moving.set()
        except BaseException as error:  # reported below
            errors.append(error)
            moving.set()

    worker = threading.Thread(target=guesses)
    worker.start()
    assert moving.wait(60)
    source = fresh_cluster.node_of(state_key)
    target = next(node for node in fresh_cluster.nodes if node is not source)
    fresh_cluster.move_slot_of(state_key, source, target)
    moved.set()
    worker.join(120)
    assert not errors, errors
    assert fresh_cluster.node_of(state_key) is target
    with RedisLedger.from_url(fresh_cluster.url()) as ledger:
        assert ledger.status(ALICE).consecutive_failures == len(counted)


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
