"""The SQLite ledger's tables: creating them, bringing an older file up to date, refusing a
foreign or newer one, and pruning what no longer counts.

What the file holds per normalised address: the times of the sends in the last hour, wrong
codes, consecutive failures, the end of any lock (and the token of the guess that set it off);
per shared budget (the whole ledger, each requesting identity): the times of the sends in the
last hour. Never a code.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from otp_tui.core.limits import HOUR
from otp_tui.language import _
from otp_tui.state.errors import LedgerError

# PRAGMA user_version of the schema below. A file with a higher number was written by a newer
# otp-tui and is refused rather than guessed at; a lower non-zero one is migrated (_MIGRATIONS).
SCHEMA_VERSION = 2

# A lock that only `unlock` lifts (FOREVER, i.e. math.inf) is stored as locked_forever = 1 rather
# than as an infinite REAL, so its meaning does not depend on how a driver renders infinity and
# is obvious to anyone reading the file with the sqlite3 shell.
_SCHEMA = """
CREATE TABLE addresses (
    address TEXT PRIMARY KEY NOT NULL,
    wrong_codes INTEGER NOT NULL DEFAULT 0,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0,
    locked_forever INTEGER NOT NULL DEFAULT 0 CHECK (locked_forever IN (0, 1))
);
CREATE TABLE sends (
    address TEXT NOT NULL,
    sent_at REAL NOT NULL
);
CREATE INDEX sends_by_address ON sends (address, sent_at);
"""

# Schema 1 -> 2: the budgets shared across addresses, the token of the guess that set off a
# lock, and an index by time alone so that old sends are pruned without a scan.
_MIGRATIONS = {
    1: """
ALTER TABLE addresses ADD COLUMN lock_token TEXT;
CREATE TABLE budget_sends (
    budget TEXT NOT NULL,
    sent_at REAL NOT NULL
);
CREATE INDEX budget_sends_by_budget ON budget_sends (budget, sent_at);
CREATE INDEX sends_by_time ON sends (sent_at);
CREATE INDEX budget_sends_by_time ON budget_sends (sent_at);
CREATE INDEX addresses_idle ON addresses (locked_until)
    WHERE wrong_codes = 0 AND consecutive_failures = 0 AND locked_forever = 0;
""",
}

# Pruning: what no longer counts is deleted as part of normal writes, a bounded batch at a time
# (the ledger calls `prune` now and then), so the file holds the live set rather than every
# address ever seen. Sends older than the hour, and address rows with nothing counted and no
# lock, go once they are PRUNE_GRACE old: a wall clock stepped back by less than that still finds
# them. A lock that only an operator lifts is never pruned.
PRUNE_BATCH = 2000
PRUNE_GRACE = 2 * 24 * HOUR


def ensure_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Inside a write transaction: create the tables in an empty file, migrate an older ledger
    step by step, or raise LedgerError for a newer ledger or someone else's database."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise LedgerError(
            _(
                "The ledger {path} was written by a newer otp-tui"
                " (schema {found}, this one knows {known})."
            ).format(path=path, found=version, known=SCHEMA_VERSION),
            path,
        )
    if version == 0:
        if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            # Someone else's database: do not add our tables to it.
            raise LedgerError(
                _(
                    "{path} is an SQLite database but not an otp-tui ledger; it was left untouched."
                ).format(path=path),
                path,
            )
        _run(conn, _SCHEMA)
        version = 1
    while version < SCHEMA_VERSION:
        _run(conn, _MIGRATIONS[version])
        version += 1
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _run(conn: sqlite3.Connection, script: str) -> None:
    # Statement by statement: executescript would COMMIT the transaction we are in.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def prune(conn: sqlite3.Connection, now: float, batch: int = PRUNE_BATCH) -> int:
    """Delete up to `batch` rows of each kind that no longer count; the most deleted of any.

    Each DELETE walks an index from its oldest end, so the work is bounded by `batch`.
    """
    old = now - PRUNE_GRACE
    deleted = 0
    for statement, cutoff in (
        (
            "DELETE FROM sends WHERE rowid IN (SELECT rowid FROM sends"
            " WHERE sent_at <= ? ORDER BY sent_at LIMIT ?)",
            old - HOUR,
        ),
        (
            "DELETE FROM budget_sends WHERE rowid IN (SELECT rowid FROM budget_sends"
            " WHERE sent_at <= ? ORDER BY sent_at LIMIT ?)",
            old - HOUR,
        ),
        # The WHERE clause is the partial index's, so the index serves it.
        (
            "DELETE FROM addresses WHERE rowid IN (SELECT rowid FROM addresses"
            " WHERE wrong_codes = 0 AND consecutive_failures = 0 AND locked_forever = 0"
            " AND locked_until <= ? LIMIT ?)",
            old,
        ),
    ):
        deleted = max(deleted, conn.execute(statement, (cutoff, batch)).rowcount)
    return deleted
