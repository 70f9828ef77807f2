"""Bodies of the processes the concurrency tests start (kept free of pytest, so spawning is cheap).

Each worker waits at a barrier so that all of them open the same file and write at once: the
race the ledger has to survive, including the very first open that creates the schema.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from ledger_scenes import record_wrong_code

from otp_tui.core.limits import SendBudget
from otp_tui.state.audit import AuditLog
from otp_tui.state.sqlite_ledger import SqliteLedger

RESERVED = 0
REFUSED = 3


def wrong_codes(path: str, address: str, times: int, barrier: Any) -> None:
    barrier.wait()
    with SqliteLedger(Path(path)) as ledger:
        for _ in range(times):
            record_wrong_code(ledger, address)


def reserve_send(path: str, address: str, per_hour: int, barrier: Any) -> None:
    barrier.wait()
    with open_spec(path) as ledger:
        retry_after = ledger.reserve_send(address, SendBudget(per_hour, 10_000, 10_000))
    # The exit status carries the answer back: no queue to drain or deadlock on.
    sys.exit(RESERVED if retry_after == 0 else REFUSED)


def audit_lines(path: str, lines: int, barrier: Any) -> None:
    # Long lines make a torn write visible: a record split by another's would not parse, and
    # the padding (this process's id repeated) would not match the pid field.
    padding = str(os.getpid()) * 500
    barrier.wait()
    with AuditLog(Path(path)) as log:
        for index in range(lines):
            log.record("wrong_code", "alice@example.com", index=index, padding=padding)


def open_spec(spec: str) -> Any:
    """The ledger a test names: a redis:// URL (then a password file may follow a space), or
    an SQLite path."""
    if spec.startswith(("redis://", "rediss://", "redis+", "rediss+")):
        from otp_tui.state.redis_ledger import RedisLedger

        url, _, password_file = spec.partition(" ")
        return RedisLedger.from_url(
            url, password_file=Path(password_file) if password_file else None
        )
    return SqliteLedger(Path(spec))


def guess_until_locked(spec: str, address: str, barrier: Any) -> None:
    """One verification typing wrong codes until it is locked out; the exit status is how many
    of its guesses were compared (the machine's own count of wrong codes)."""
    from otp_tui.core.codes import OneTimeCode
    from otp_tui.core.machine import Phase, Verification
    from otp_tui.core.policy import Policy

    with open_spec(spec) as ledger:
        policy = Policy(max_attempts=5, max_sends_per_hour=10_000, max_sends_per_hour_total=10_000)
        machine = Verification(
            policy, ledger, clock=time.monotonic, make_code=lambda n: OneTimeCode("1" * n)
        )
        machine.submit_address(address)
        machine.send_succeeded()
        barrier.wait()
        while machine.phase is Phase.AWAITING_CODE:
            machine.submit_code("999999")
        sys.exit(machine.status().wrong_attempts)


def wrong_codes_on(spec: str, addresses: list[str], times: int, barrier: Any) -> None:
    """`times` wrong codes on each address, through whichever ledger `spec` names."""
    with open_spec(spec) as ledger:
        barrier.wait()
        for _ in range(times):
            for address in addresses:
                record_wrong_code(ledger, address)


# A shared address that never locks (every guess is counted), and sends: 3 an hour to each
# worker's own address, and a total across all of them that the run must never overspend.
NEVER_LOCKS = (10**9, 900.0, 10**9)
PER_ADDRESS = 3
TOTAL_SENDS = 100


def through_a_failover(
    url: str, shared: str, own: str, until: float, out: str, timeout: float, barrier: Any
) -> None:
    """Guess on `shared` and send to `own` until the monotonic time `until`, through whatever
    happens to the servers; what each call answered goes to the JSON file `out`."""
    import json

    from otp_tui.core.limits import GuessLimits
    from otp_tui.state.errors import LedgerError
    from otp_tui.state.redis_ledger import RedisLedger

    record: dict[str, Any] = {
        "admitted": 0,
        "admit_failed": 0,
        "reserved": 0,
        "refused": 0,
        "reserve_failed": 0,
        "slowest": 0.0,
        "messages": [],
    }
    limits = GuessLimits(*NEVER_LOCKS)
    budget = SendBudget(PER_ADDRESS, TOTAL_SENDS, 10**6)
    with RedisLedger.from_url(url, timeout=timeout, replicas=1) as ledger:
        barrier.wait()
        number = 0
        while time.monotonic() < until:
            number += 1
            for kind in ("admit", "reserve"):
                started = time.monotonic()
                try:
                    if kind == "admit":
                        ledger.admit_guess(shared, limits, f"{os.getpid()}-{number}")
                        record["admitted"] += 1
                    elif ledger.reserve_send(own, budget) == 0:
                        record["reserved"] += 1
                    else:
                        record["refused"] += 1
                except LedgerError as error:
                    record[f"{kind}_failed"] += 1
                    if str(error) not in record["messages"]:
                        record["messages"].append(str(error))
                record["slowest"] = max(record["slowest"], time.monotonic() - started)
    Path(out).write_text(json.dumps(record))


def reserve_shared(spec: str, address: str, total: int, per_requester: int, barrier: Any) -> None:
    """One send to an address of this worker's own (`address` after its pid) against a total
    and a requester budget that every worker shares."""
    barrier.wait()
    with open_spec(spec) as ledger:
        budget = SendBudget(10, total, per_requester, ("user:racer",))
        retry_after = ledger.reserve_send(f"{os.getpid()}.{address}", budget)
    sys.exit(RESERVED if retry_after == 0 else REFUSED)
