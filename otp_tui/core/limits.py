"""The limits that must outlive one process, as an interface the core speaks to.

The verification machine decides *what* the rules are; a `LimitsLedger` only keeps the counts
per normalised address and updates them atomically, so that many processes (and restarts)
share one truth. `otp_tui.state.ledger` keeps them in SQLite; `MemoryLedger` below keeps them in
a dict for tests and for the core's own property tests.

Times here are wall-clock seconds (what survives a restart), supplied by the ledger's own
injected clock, never by the machine's monotonic one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

HOUR = 3600.0

# `locked_until` value for a lock that only an operator's `otp-tui unlock` lifts.
FOREVER = math.inf


@dataclass(frozen=True)
class LedgerEntry:
    """What the ledger holds for one address, as of the ledger's clock."""

    sends_last_hour: int
    wrong_codes: int  # wrong codes since the last success or the last lock
    consecutive_failures: int  # wrong codes since the last success, across locks
    locked_for: float  # seconds left on the lock; 0 unlocked, FOREVER until an operator unlocks


class LimitsLedger(Protocol):
    """Atomic per-address counters. Every method is one short transaction."""

    def status(self, address: str) -> LedgerEntry: ...

    def reserve_send(self, address: str, per_hour: int) -> float:
        """Record a send if fewer than `per_hour` happened in the last hour.

        Returns 0 when the send was recorded, else the seconds until one is allowed.
        The check and the record are one transaction, so racing processes cannot both pass.
        """
        ...

    def record_wrong_code(self, address: str) -> LedgerEntry:
        """Count one wrong code and return the counts after it."""
        ...

    def lock(self, address: str, seconds: float) -> None:
        """Lock the address for `seconds` (FOREVER: until `unlock`) and restart `wrong_codes`."""
        ...

    def record_success(self, address: str) -> None:
        """A verified address: clear wrong codes and consecutive failures."""
        ...

    def unlock(self, address: str) -> None:
        """The operator's override: lift any lock and clear the failure counts."""
        ...


@dataclass
class _Counts:
    sends: list[float] = field(default_factory=list)
    wrong_codes: int = 0
    consecutive_failures: int = 0
    locked_until: float = 0.0


class MemoryLedger:
    """A `LimitsLedger` in a dict: the reference the SQLite ledger is tested against."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._counts: dict[str, _Counts] = {}

    def _get(self, address: str) -> _Counts:
        return self._counts.setdefault(address, _Counts())

    def status(self, address: str) -> LedgerEntry:
        counts = self._get(address)
        now = self._clock()
        # Sends stamped in the future (the wall clock went back) count, as in reserve_send.
        recent = [t for t in counts.sends if t > now - HOUR]
        return LedgerEntry(
            sends_last_hour=len(recent),
            wrong_codes=counts.wrong_codes,
            consecutive_failures=counts.consecutive_failures,
            locked_for=max(0.0, counts.locked_until - now),
        )

    def reserve_send(self, address: str, per_hour: int) -> float:
        if per_hour < 1:
            raise ValueError("per_hour must be at least 1")
        counts = self._get(address)
        now = self._clock()
        # A send stamped in the future (the wall clock went back) still counts: fail closed.
        recent = sorted(t for t in counts.sends if t > now - HOUR)
        if len(recent) >= per_hour:
            return max(recent[len(recent) - per_hour] + HOUR - now, 1.0)
        counts.sends = [*recent, now]
        return 0.0

    def record_wrong_code(self, address: str) -> LedgerEntry:
        counts = self._get(address)
        counts.wrong_codes += 1
        counts.consecutive_failures += 1
        return self.status(address)

    def lock(self, address: str, seconds: float) -> None:
        counts = self._get(address)
        counts.locked_until = max(counts.locked_until, self._clock() + seconds)
        counts.wrong_codes = 0

    def record_success(self, address: str) -> None:
        counts = self._get(address)
        counts.wrong_codes = 0
        counts.consecutive_failures = 0

    def unlock(self, address: str) -> None:
        counts = self._get(address)
        counts.locked_until = 0.0
        counts.wrong_codes = 0
        counts.consecutive_failures = 0
