"""The limits ledger in an SQLite file: counts per address that every process and restart shares.

`SqliteLedger` implements `otp_tui.core.limits.LimitsLedger` with the same meaning as
`MemoryLedger` (the contract tests run both). Each method is one short transaction; the ones
that read, decide and write start with ``BEGIN IMMEDIATE`` so that racing processes queue for
the write lock instead of both passing a check.

Nothing here ever holds a code. What it holds per normalised address: the times of the sends in
the last hour, wrong codes, consecutive failures and the end of any lock.

Every failure (permissions, a corrupt or foreign file, a full disk, a lock held too long) comes
out as one `LedgerError` whose message is a sentence naming the file, so the caller can stop the
flow with a clear message: the ledger fails closed. A file that is not a ledger is never
replaced, truncated or deleted.
"""

from __future__ import annotations

import errno
import math
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

from otp_tui.core.limits import HOUR, LedgerEntry
from otp_tui.state.errors import LedgerError

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings

LEDGER_FILENAME = "ledger.sqlite3"

# How long one process waits for another's write transaction before giving up (and failing
# closed). Transactions last microseconds, so reaching this means something is badly wrong.
BUSY_TIMEOUT = 10.0

# PRAGMA user_version of the schema below. A file with a higher number was written by a newer
# otp-tui and is refused rather than guessed at; a lower non-zero one would be migrated here.
SCHEMA_VERSION = 1

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


def default_ledger_path() -> Path:
    # Imported here so that processes which only touch the ledger do not load pydantic.
    from otp_tui.config.paths import user_state_dir

    return user_state_dir() / LEDGER_FILENAME


def open_ledger(settings: Settings, clock: Callable[[], float] = time.time) -> SqliteLedger:
    """The ledger named by ``[state] ledger``, or the default one in the user state dir."""
    return SqliteLedger(settings.state.ledger or default_ledger_path(), clock=clock)


def _errorname_from_text(text: str) -> str:
    # Python 3.10 has no sqlite_errorname; SQLite's English messages are stable enough.
    lowered = text.lower()
    for fragment, name in (
        ("not a database", "SQLITE_NOTADB"),
        ("malformed", "SQLITE_CORRUPT"),
        ("readonly", "SQLITE_READONLY"),
        ("disk is full", "SQLITE_FULL"),
        ("is locked", "SQLITE_BUSY"),
        ("unable to open", "SQLITE_CANTOPEN"),
    ):
        if fragment in lowered:
            return name
    return ""


@dataclass
class _Row:
    """One address's row, with a FOREVER lock as math.inf: the same shape MemoryLedger keeps."""

    wrong_codes: int = 0
    consecutive_failures: int = 0
    locked_until: float = 0.0


class SqliteLedger:
    """A `LimitsLedger` in one SQLite file, safe to share between processes."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        # One connection, usable from a worker thread too; the lock keeps its use serial.
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        with self._translate_errors():
            self._conn = self._connect()
        try:
            # The schema check comes first: it only reads until it knows the file is a ledger
            # (or empty), so a foreign or corrupt file is refused before anything touches it.
            with self._transaction("IMMEDIATE") as conn:
                self._ensure_schema(conn)
            with self._lock, self._translate_errors():
                self._use_wal(conn)
        except BaseException:
            self.close()
            raise

    # -- opening -------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Create the file ourselves so that it is 0600 whatever the umask; SQLite gives its -wal
        # and -shm companions the same mode. O_RDWR also surfaces a read-only file right here.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        os.close(fd)
        return sqlite3.connect(
            self.path,
            timeout=BUSY_TIMEOUT,
            isolation_level=None,  # we issue BEGIN/COMMIT ourselves
            check_same_thread=False,
        )

    @staticmethod
    def _use_wal(conn: sqlite3.Connection) -> None:
        # WAL lets `status` read while another process writes. The switch happens once per file
        # (the mode is stored in it) and needs a moment of exclusive access. SQLite answers
        # "database is locked" at once, without its busy handler, when another process is in
        # the file just then (many first runs at once), so wait and retry here ourselves.
        deadline = time.monotonic() + BUSY_TIMEOUT
        pause = 0.002
        while str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            try:
                conn.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as error:
                busy = getattr(error, "sqlite_errorname", "") or _errorname_from_text(str(error))
                if not busy.startswith("SQLITE_BUSY") or time.monotonic() > deadline:
                    raise
                # Jitter from secrets too: otp_tui keeps the random module out entirely.
                time.sleep(pause * (0.5 + secrets.randbelow(1000) / 1000))
                pause = min(pause * 2, 0.05)
        # In WAL mode NORMAL never corrupts the file; it can only lose the last commits if the
        # machine (not the process) crashes, and it keeps 50 racing writers fast.
        conn.execute("PRAGMA synchronous=NORMAL")

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"The ledger {self.path} was written by a newer otp-tui"
                f" (schema {version}, this one knows {SCHEMA_VERSION}).",
                self.path,
            )
        if version == 0:
            if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                # Someone else's database: do not add our tables to it.
                raise LedgerError(
                    f"{self.path} is an SQLite database but not an otp-tui ledger;"
                    " it was left untouched.",
                    self.path,
                )
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return
        # 0 < version < SCHEMA_VERSION: migrations go here when the schema changes.
        raise LedgerError(  # pragma: no cover - no older schema exists yet
            f"The ledger {self.path} has schema {version}, which cannot be migrated.", self.path
        )

    # -- transactions and errors ---------------------------------------------------------------

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as error:
            raise LedgerError(self._describe(error), self.path) from error

    @contextmanager
    def _transaction(self, mode: Literal["IMMEDIATE", "DEFERRED"]) -> Iterator[sqlite3.Connection]:
        with self._lock, self._translate_errors():
            conn = self._conn
            if conn is None:
                raise LedgerError(f"The ledger {self.path} is closed.", self.path)
            conn.execute(f"BEGIN {mode}")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # Never leave a transaction open behind a failure (a failed COMMIT leaves one),
                # and let the original error through even if the rollback fails too. SQLite
                # may already have rolled back by itself (a full disk does that).
                if conn.in_transaction:
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise

    def _describe(self, error: sqlite3.Error | OSError) -> str:
        where = self.path
        if isinstance(error, OSError):
            if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                return f"The ledger {where} cannot be opened for writing: permission denied."
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                return f"The disk holding the ledger {where} is full."
            reason = error.strerror or str(error)
            return f"The ledger {where} cannot be opened: {reason}."
        text = str(error)
        name = getattr(error, "sqlite_errorname", "") or _errorname_from_text(text)
        if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
            return (
                f"The ledger {where} is corrupt or not an SQLite database;"
                " it was left untouched, move it aside to start afresh."
            )
        if name.startswith("SQLITE_READONLY"):
            return f"The ledger {where} is read-only."
        if name.startswith("SQLITE_FULL"):
            return f"The disk holding the ledger {where} is full."
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return (
                f"The ledger {where} stayed locked by another process"
                f" for more than {BUSY_TIMEOUT:g} seconds."
            )
        if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM")):
            return (
                f"The ledger {where} cannot be opened"
                " (its directory must be writable for the journal files)."
            )
        return f"The ledger {where} cannot be used: {text}."

    # -- rows ----------------------------------------------------------------------------------

    @staticmethod
    def _load(conn: sqlite3.Connection, address: str) -> _Row:
        found = conn.execute(
            "SELECT wrong_codes, consecutive_failures, locked_until, locked_forever"
            " FROM addresses WHERE address = ?",
            (address,),
        ).fetchone()
        if found is None:
            return _Row()
        wrong, consecutive, until, forever = found
        return _Row(int(wrong), int(consecutive), math.inf if forever else float(until))

    @staticmethod
    def _store(conn: sqlite3.Connection, address: str, row: _Row) -> None:
        forever = math.isinf(row.locked_until) and row.locked_until > 0
        conn.execute(
            "INSERT INTO addresses"
            " (address, wrong_codes, consecutive_failures, locked_until, locked_forever)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (address) DO UPDATE SET wrong_codes = excluded.wrong_codes,"
            " consecutive_failures = excluded.consecutive_failures,"
            " locked_until = excluded.locked_until, locked_forever = excluded.locked_forever",
            (
                address,
                row.wrong_codes,
                row.consecutive_failures,
                0.0 if forever else row.locked_until,
                int(forever),
            ),
        )

    def _entry(self, conn: sqlite3.Connection, address: str, now: float) -> LedgerEntry:
        row = self._load(conn, address)
        # Sends stamped in the future (the wall clock went back) count, as in reserve_send.
        sends = conn.execute(
            "SELECT count(*) FROM sends WHERE address = ? AND sent_at > ?",
            (address, now - HOUR),
        ).fetchone()[0]
        return LedgerEntry(
            sends_last_hour=int(sends),
            wrong_codes=row.wrong_codes,
            consecutive_failures=row.consecutive_failures,
            locked_for=max(0.0, row.locked_until - now),
        )

    # -- LimitsLedger --------------------------------------------------------------------------

    def status(self, address: str) -> LedgerEntry:
        # A read transaction so the two SELECTs see one snapshot; it writes nothing.
        with self._transaction("DEFERRED") as conn:
            return self._entry(conn, address, self._clock())

    def reserve_send(self, address: str, per_hour: int) -> float:
        if per_hour < 1:
            raise ValueError(f"per_hour must be at least 1, not {per_hour}")
        with self._transaction("IMMEDIATE") as conn:
            now = self._clock()
            # Sends an hour old no longer count: forget them. Only this address's, exactly as
            # MemoryLedger does, so the two agree even after the wall clock jumps forward and
            # back. A send stamped after `now` (the clock went back) is kept and still counts.
            conn.execute(
                "DELETE FROM sends WHERE address = ? AND sent_at <= ?", (address, now - HOUR)
            )
            recent = [
                float(t)
                for (t,) in conn.execute(
                    "SELECT sent_at FROM sends WHERE address = ? ORDER BY sent_at", (address,)
                )
            ]
            if len(recent) >= per_hour:
                # The send that must age out before another fits under the budget.
                return max(recent[len(recent) - per_hour] + HOUR - now, 1.0)
            conn.execute("INSERT INTO sends (address, sent_at) VALUES (?, ?)", (address, now))
            return 0.0

    def record_wrong_code(self, address: str) -> LedgerEntry:
        with self._transaction("IMMEDIATE") as conn:
            row = self._load(conn, address)
            row.wrong_codes += 1
            row.consecutive_failures += 1
            self._store(conn, address, row)
            return self._entry(conn, address, self._clock())

    def lock(self, address: str, seconds: float) -> None:
        with self._transaction("IMMEDIATE") as conn:
            row = self._load(conn, address)
            # Never shorten a lock already in place (and FOREVER stays FOREVER).
            row.locked_until = max(row.locked_until, self._clock() + seconds)
            row.wrong_codes = 0
            self._store(conn, address, row)

    def record_success(self, address: str) -> None:
        with self._transaction("IMMEDIATE") as conn:
            row = self._load(conn, address)
            row.wrong_codes = 0
            row.consecutive_failures = 0
            self._store(conn, address, row)

    def unlock(self, address: str) -> None:
        with self._transaction("IMMEDIATE") as conn:
            self._store(conn, address, _Row())

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            with self._translate_errors():
                conn.close()

    def __enter__(self) -> SqliteLedger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
