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


# A shared address that never locks (every guess is counted).
NEVER_LOCKS = (10**9, 900.0, 10**9)


def reserve_shared(spec: str, address: str, total: int, per_requester: int, barrier: Any) -> None:
    """One send to an address of this worker's own (`address` after its pid) against a total
    and a requester budget that every worker shares."""
    barrier.wait()
    with open_spec(spec) as ledger:
        budget = SendBudget(10, total, per_requester, ("user:racer",))
        retry_after = ledger.reserve_send(f"{os.getpid()}.{address}", budget)
    sys.exit(RESERVED if retry_after == 0 else REFUSED)
