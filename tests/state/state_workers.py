"""Bodies of the processes the concurrency tests start (kept free of pytest, so spawning is cheap).

Each worker waits at a barrier so that all of them open the same file and write at once: the
race the ledger has to survive, including the very first open that creates the schema.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from otp_tui.state.audit import AuditLog
from otp_tui.state.ledger import SqliteLedger

RESERVED = 0
REFUSED = 3


def wrong_codes(path: str, address: str, times: int, barrier: Any) -> None:
    barrier.wait()
    with SqliteLedger(Path(path)) as ledger:
        for _ in range(times):
            ledger.record_wrong_code(address)


def reserve_send(path: str, address: str, per_hour: int, barrier: Any) -> None:
    barrier.wait()
    with SqliteLedger(Path(path)) as ledger:
        retry_after = ledger.reserve_send(address, per_hour)
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
