"""Scenes the tests set in any ledger, with operations no run ever makes: a wrong code counted
without the guess rules, a lock set by hand, the count of a shared budget.

The ledgers offer only what a run needs; these reach into each kind (the memory ledger's dicts,
the SQLite ledger's rows, Lua of their own in ``lua/`` on the Redis server) to build the state
a test starts from. Tests outside ``tests/state`` import this module as ``state.ledger_scenes``.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import Any

from otp_tui.core.limits import HOUR, GuessCounts, LedgerEntry, MemoryLedger, recent
from otp_tui.state.redis_ledger import RedisLedger, address_keys, budget_key
from otp_tui.state.redis_scripts import Script
from otp_tui.state.sqlite_ledger import SqliteLedger

LUA = Path(__file__).parent / "lua"


@functools.cache
def _script(name: str) -> Script:
    return Script.with_head((LUA / f"{name}.lua").read_text(encoding="utf-8"))


def _num(seconds: float) -> str:
    return "inf" if seconds == float("inf") else repr(float(seconds))


def record_wrong_code(ledger: Any, address: str) -> LedgerEntry:
    """Count one wrong code (and one consecutive failure), deciding no lock; the entry after."""
    if isinstance(ledger, RedisLedger):
        answer: list[int | bytes] = ledger.run(_script("record_wrong_code"), address_keys(address))
        sends, wrong, consecutive, locked_for = answer
        locked = float("inf") if locked_for == b"inf" else float(locked_for)
        return LedgerEntry(int(sends), int(wrong), int(consecutive), locked)

    def more(counts: GuessCounts, now: float) -> GuessCounts:
        return replace(
            counts,
            wrong_codes=counts.wrong_codes + 1,
            consecutive_failures=counts.consecutive_failures + 1,
        )

    _change(ledger, address, more)
    return ledger.status(address)  # type: ignore[no-any-return]


def lock(ledger: Any, address: str, seconds: float) -> None:
    """Lock the address for `seconds` (FOREVER too) as something else than a guess would:
    never shortening a lock in place, restarting wrong codes, owned by no guess's token."""
    if isinstance(ledger, RedisLedger):
        ledger.run(_script("lock"), address_keys(address)[:1], [_num(seconds)])
        return

    def locked(counts: GuessCounts, now: float) -> GuessCounts:
        until = max(counts.locked_until, now + seconds)
        return replace(counts, wrong_codes=0, locked_until=until, lock_token=None)

    _change(ledger, address, locked)


def budget_sends(ledger: Any, name: str) -> int:
    """Sends in the last hour counted against the shared budget `name`."""
    if isinstance(ledger, RedisLedger):
        return int(ledger.run(_script("budget_sends"), [budget_key(name)]))
    if isinstance(ledger, SqliteLedger):
        with ledger._transaction("DEFERRED") as conn:
            return int(
                conn.execute(
                    "SELECT count(*) FROM budget_sends WHERE budget = ? AND sent_at > ?",
                    (name, ledger._clock() - HOUR),
                ).fetchone()[0]
            )
    assert isinstance(ledger, MemoryLedger)
    with ledger._mutex:
        return len(recent(ledger._budgets.get(name, ()), ledger._clock()))


def _change(ledger: Any, address: str, change: Any) -> None:
    if isinstance(ledger, SqliteLedger):
        with ledger._transaction("IMMEDIATE") as conn:
            now = ledger._clock()
            ledger._store(conn, address, change(ledger._load(conn, address), now))
        return
    assert isinstance(ledger, MemoryLedger), type(ledger)
    with ledger._mutex:
        counts = ledger._guesses.get(address, GuessCounts())
        ledger._guesses[address] = change(counts, ledger._clock())
