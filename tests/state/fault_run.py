"""Many processes using one ledger while a test breaks its servers (a primary killed, a slot
moved), and what the test checks afterwards: nothing counted was lost, no limit was overspent,
and every call ended with an answer or one sentence within the deadline.

Each worker (`run_through_a_fault`) guesses and sends on an address every worker shares and on
an address of its own, until the test says stop. The test and the workers meet at events, never
at a time: a worker tells `warm` once it is under way, the test breaks something and sets
`fault`, a worker tells `through` once it has been answered after the fault and has driven its
own address to its limit there, and then the test sets `stop`. Every wait is bounded.

What a worker was told goes to a JSON file of its own: for each guess admitted on the shared
address, when the call started and ended and the count it returned. Counts that never go down
mean a guess that ended before another began returned a smaller count (`counts_only_rise`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The shared address never locks, so that every guess on it is counted and returned.
SHARED_LIMITS = (10**9, 900.0, 10**9)
# A worker's own address locks after this many wrong codes, for an hour.
OWN_ATTEMPTS = 5
OWN_LIMITS = (OWN_ATTEMPTS, 3600.0, 10**9)
# Sends: this many an hour to any one address, and a total across all of them that 50 workers
# exhaust before the fault (so that a count lost in it would let sends through again).
PER_ADDRESS = 3
TOTAL_SENDS = 100
# Rounds a worker makes before it says it is under way (its own send budget is used up then).
WARM_ROUNDS = PER_ADDRESS + 1
# A worker that is never told to stop gives up after this long (a hang must not outlive CI).
GIVE_UP_AFTER = 240.0


@dataclass
class Signals:
    """The events the test and its workers meet at (from one multiprocessing context)."""

    warm: Any  # Semaphore: released once by each worker under way
    fault: Any  # Event: the test broke something
    through: Any  # Semaphore: released once by each worker answered after the fault
    stop: Any  # Event: the test has seen enough

    @classmethod
    def made_by(cls, context: Any) -> Signals:
        return cls(context.Semaphore(0), context.Event(), context.Semaphore(0), context.Event())

    def wait_for_all(self, semaphore: Any, count: int, seconds: float, what: str) -> None:
        """Until `count` releases of `semaphore`, all within `seconds` (generous: a bound on a
        hang, not a pace)."""
        deadline = time.monotonic() + seconds
        for done in range(count):
            if not semaphore.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise AssertionError(f"only {done} of {count} workers {what} in {seconds:g} s")


def run_through_a_fault(
    url: str,
    shared: str,
    own: str,
    out: str,
    timeout: float,
    replicas: int,
    signals: Signals,
) -> None:
    """One worker: rounds of a guess on `shared`, a send to `own` and one to `shared` and, once
    the fault is set, a guess on `own`, until `signals.stop`; what each call answered goes to
    the JSON file `out`. Only a LedgerError is caught: anything else ends the worker with a
    traceback and a non-zero exit status, which the test reports."""
    from otp_tui.core.limits import GuessAdmitted, GuessLimits, SendBudget
    from otp_tui.state.errors import LedgerError
    from otp_tui.state.redis_ledger import RedisLedger

    record: dict[str, Any] = {
        "own": own,
        "shared_counts": [],  # [started, ended, wrong codes counted] per admitted guess
        "shared_failed": 0,
        "own_admitted": 0,
        "own_refused": 0,
        "own_failed": 0,
        "own_reserved": 0,
        "shared_reserved": 0,
        "send_failed": 0,
        "slowest": 0.0,
        "messages": [],
    }
    shared_limits, own_limits = GuessLimits(*SHARED_LIMITS), GuessLimits(*OWN_LIMITS)
    budget = SendBudget(PER_ADDRESS, TOTAL_SENDS, 10**6)
    give_up = time.monotonic() + GIVE_UP_AFTER
    rounds = 0
    told_through = False

    def call(operation: Any, *args: Any) -> Any:
        started = time.monotonic()
        try:
            return operation(*args)
        except LedgerError as error:
            if str(error) not in record["messages"]:
                record["messages"].append(str(error))
            return error
        finally:
            record["slowest"] = max(record["slowest"], time.monotonic() - started)

    with RedisLedger.from_url(url, timeout=timeout, replicas=replicas) as ledger:
        while not signals.stop.is_set() and time.monotonic() < give_up:
            rounds += 1
            # Read before the round's calls: if set, every one of them started after the fault.
            after_fault = signals.fault.is_set()
            token = f"{os.getpid()}-{rounds}"
            started = time.monotonic()
            verdict = call(ledger.admit_guess, shared, shared_limits, token)
            if isinstance(verdict, GuessAdmitted):
                wrong = SHARED_LIMITS[0] - verdict.attempts_left
                record["shared_counts"].append([started, time.monotonic(), wrong])
            else:
                record["shared_failed"] += 1
            for address, kind in ((own, "own_reserved"), (shared, "shared_reserved")):
                wait = call(ledger.reserve_send, address, budget)
                if isinstance(wait, LedgerError):
                    record["send_failed"] += 1
                elif wait == 0:
                    record[kind] += 1
            if after_fault:
                answer = call(ledger.admit_guess, own, own_limits, token)
                if isinstance(answer, GuessAdmitted):
                    record["own_admitted"] += 1
                elif isinstance(answer, LedgerError):
                    record["own_failed"] += 1
                else:
                    record["own_refused"] += 1
            if rounds == WARM_ROUNDS:
                signals.warm.release()
            if (
                after_fault
                and not told_through
                and isinstance(verdict, GuessAdmitted)
                and record["own_refused"] > 0
            ):
                told_through = True
                signals.through.release()
    Path(out).write_text(json.dumps(record))


def counts_only_rise(calls: Iterable[list[float]]) -> None:
    """Every guess admitted on the shared address returned a count of its own, and a guess that
    ended before another started returned the smaller one: no count ever went down, whichever
    server answered. `calls` are [started, ended, count] from every worker."""
    calls = list(calls)
    counts = [count for _started, _ended, count in calls]
    assert len(set(counts)) == len(counts), "two guesses were told the same count"
    by_end = sorted(calls, key=lambda call: call[1])
    highest_ended = 0.0  # the highest count returned by a call ended before the one at hand
    taken = 0
    for started, _ended, count in sorted(calls, key=lambda call: call[0]):
        while taken < len(by_end) and by_end[taken][1] < started:
            highest_ended = max(highest_ended, by_end[taken][2])
            taken += 1
        assert count > highest_ended, (
            f"a guess was told {count} after another had been told {highest_ended}"
        )


def snapshot(admin: Any) -> dict[str, Any]:
    """What counts on a data node: for each ledger key, its counts that only ever rise (the
    consecutive failures and the lock's end of a state hash; the members of a set of sends)."""
    found: dict[str, Any] = {}
    for key in admin.scan_iter(match="otp-tui:*", count=1000):
        name = key.decode()
        if name.endswith(":state"):
            values = admin.hmget(key, "c", "u")
            found[name] = tuple(_number(value) for value in values)
        else:
            found[name] = set(admin.zrange(key, 0, -1))
    return found


def _number(value: bytes | None) -> float:
    return 0.0 if value is None else float(value.decode())


def nothing_went_down(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Every count in `before` is in `after`, as high or higher; every send still counted."""
    for key, was in before.items():
        now = after.get(key)
        assert now is not None, f"{key} is gone"
        if isinstance(was, set):
            assert was <= now, f"{len(was - now)} sends in {key} are gone"
        else:
            assert all(n >= w for n, w in zip(now, was, strict=True)), f"{key}: {was} -> {now}"


def read_records(outs: Iterable[Path]) -> list[dict[str, Any]]:
    return [json.loads(out.read_text()) for out in outs]


@dataclass
class Fleet:
    """`count` workers started on `url`, each writing to its own file in `directory`."""

    workers: list[Any]
    outs: list[Path]
    owns: list[str]
    signals: Signals

    @classmethod
    def started(
        cls,
        context: Any,
        url: str,
        shared: str,
        owns: list[str],
        directory: Path,
        *,
        timeout: float,
        replicas: int = 0,
    ) -> Fleet:
        signals = Signals.made_by(context)
        outs = [directory / f"worker{n}.json" for n in range(len(owns))]
        workers = [
            context.Process(
                target=run_through_a_fault,
                args=(url, shared, own, str(out), timeout, replicas, signals),
            )
            for own, out in zip(owns, outs, strict=True)
        ]
        for worker in workers:
            worker.start()
        return cls(workers, outs, owns, signals)

    def wait_for(self, what: str, seconds: float = 120) -> None:
        semaphore = {"under way": self.signals.warm, "through": self.signals.through}[what]
        self.wait_for_all_or_stop(semaphore, seconds, what)

    def wait_for_all_or_stop(self, semaphore: Any, seconds: float, what: str) -> None:
        try:
            self.signals.wait_for_all(semaphore, len(self.workers), seconds, what)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> list[dict[str, Any]]:
        """Tell every worker to stop, and their records (each must have ended cleanly)."""
        self.signals.stop.set()
        for worker in self.workers:
            worker.join(timeout=60)
        for worker in self.workers:
            if worker.is_alive():  # pragma: no cover - only on a hang
                worker.kill()
        codes = [worker.exitcode for worker in self.workers]
        assert codes == [0] * len(codes), f"workers ended with {codes}"
        return read_records(self.outs)
