"""The limits ledger in an SQLite file: counts per address that every process and restart shares.

`SqliteLedger` implements `otp_tui.core.limits.LimitsLedger` with the same meaning as
`MemoryLedger` (the contract tests run both). Each method is one short transaction; the ones
that read, decide and write start with ``BEGIN IMMEDIATE`` so that racing processes queue for
the write lock instead of both passing a check.

Nothing here ever holds a code. What it holds per normalised address: the times of the sends in
the last hour, wrong codes, consecutive failures, the end of any lock (and the token of the guess
that set it off); per shared budget (the whole ledger, each requesting identity): the times of
the sends in the last hour.

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
from typing import TYPE_CHECKING, Literal, Protocol, TextIO

from otp_tui.core.limits import (
    FOREVER,
    HOUR,
    GuessAdmitted,
    GuessLimits,
    GuessRefused,
    GuessVerdict,
    LedgerEntry,
    LimitsLedger,
    SendBudget,
)
from otp_tui.language import _, ngettext
from otp_tui.state.errors import LedgerError, plural_count

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings

LEDGER_FILENAME = "ledger.sqlite3"


class OpenLedger(LimitsLedger, Protocol):
    """A ledger `open_ledger` hands out: the contract, plus closing and a `with` block."""

    def close(self) -> None: ...

    def __enter__(self) -> OpenLedger: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


# How long one process waits for another's write transaction before giving up (and failing
# closed). Transactions last microseconds, so reaching this means something is badly wrong.
BUSY_TIMEOUT = 10.0

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
# (the first write of each process, then every PRUNE_EVERY-th, or every write while a backlog
# remains), so the file holds the live set rather than every address ever seen. Sends older
# than the hour, and address rows with nothing counted and no lock, go once they are PRUNE_GRACE
# old: a wall clock stepped back by less than that still finds them. A lock that only an
# operator lifts is never pruned.
PRUNE_EVERY = 64
PRUNE_BATCH = 2000
PRUNE_GRACE = 2 * 24 * HOUR


def default_ledger_path() -> Path:
    # Imported here so that processes which only touch the ledger do not load pydantic.
    from otp_tui.config.paths import user_state_dir

    return user_state_dir() / LEDGER_FILENAME


def open_ledger(settings: Settings, clock: Callable[[], float] = time.time) -> OpenLedger:
    """The ledger named by ``[state] ledger``: Redis for a redis:// or rediss:// URL, else the
    SQLite file at that path, or the default one in the user state dir.

    `clock` is the SQLite ledger's; a Redis ledger keeps the server's time, whatever the host's.
    """
    state = settings.state
    if state.ledger_url is not None:
        # Imported only here: redis-py loads nowhere else, and never at start-up.
        from otp_tui.state.redis_ledger import RedisLedger

        return RedisLedger.from_url(
            state.ledger_url,
            password_file=state.ledger_password_file,
            ca_file=state.ledger_ca_file,
            timeout=state.ledger_timeout,
        )
    return SqliteLedger(state.ledger_path or default_ledger_path(), clock=clock)


def check_ledger(settings: Settings, out: TextIO) -> bool:
    """`otp-tui check`: open the configured ledger, prove it answers, and say which it is.

    For Redis: connect, authenticate and run a harmless script. True when it works.
    """
    try:
        with open_ledger(settings) as ledger:
            if isinstance(ledger, SqliteLedger):
                ledger.status("check@otp-tui.invalid")  # a read: opens, checks the schema
                # TRANSLATORS: `otp-tui check`: the SQLite ledger file opened and was read.
                line = _("SQLite file {path} (schema {version}): ok").format(
                    path=ledger.path, version=SCHEMA_VERSION
                )
            else:
                # TRANSLATORS: `otp-tui check`: {answer} says which Redis server answered.
                line = _("{answer}: ok").format(answer=ledger.probe())  # type: ignore[attr-defined]
    except LedgerError as error:
        out.write(_ledger_line(str(error)))
        out.write(_("Ledger check failed.") + "\n")
        return False
    out.write(_ledger_line(line))
    return True


def _ledger_line(result: str) -> str:
    # TRANSLATORS: `otp-tui check`: the line about the ledger (the file or server that holds
    # the counts and locks per address); {result} is a sentence of its own.
    return _("ledger: {result}").format(result=result) + "\n"


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
    lock_token: str | None = None


def _wait_for_room(stamps: list[float], per_hour: int, now: float) -> float:
    # The same rule as MemoryLedger: the stamp that must age out before another fits.
    if len(stamps) < per_hour:
        return 0.0
    return max(stamps[len(stamps) - per_hour] + HOUR - now, 1.0)


class SqliteLedger:
    """A `LimitsLedger` in one SQLite file, safe to share between processes."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        # One connection, usable from a worker thread too; the lock keeps its use serial.
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._writes = 0
        self._prune_backlog = False
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
                _(
                    "The ledger {path} was written by a newer otp-tui"
                    " (schema {found}, this one knows {known})."
                ).format(path=self.path, found=version, known=SCHEMA_VERSION),
                self.path,
            )
        if version == 0:
            if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                # Someone else's database: do not add our tables to it.
                raise LedgerError(
                    _(
                        "{path} is an SQLite database but not an otp-tui ledger;"
                        " it was left untouched."
                    ).format(path=self.path),
                    self.path,
                )
            self._run(conn, _SCHEMA)
            version = 1
        # An older ledger is brought up to date in the same transaction, step by step.
        while version < SCHEMA_VERSION:
            self._run(conn, _MIGRATIONS[version])
            version += 1
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @staticmethod
    def _run(conn: sqlite3.Connection, script: str) -> None:
        # Statement by statement: executescript would COMMIT the transaction we are in.
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)

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
                raise LedgerError(
                    _("The ledger {path} is closed.").format(path=self.path), self.path
                )
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
        # The one line a run fails with, in the language in use; {reason} is the system's or
        # SQLite's own words, which stay as they come.
        where = self.path
        if isinstance(error, OSError):
            if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                return _(
                    "The ledger {path} cannot be opened for writing: permission denied."
                ).format(path=where)
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                return _("The disk holding the ledger {path} is full.").format(path=where)
            reason = error.strerror or str(error)
            return _("The ledger {path} cannot be opened: {reason}.").format(
                path=where, reason=reason
            )
        text = str(error)
        name = getattr(error, "sqlite_errorname", "") or _errorname_from_text(text)
        if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
            return _(
                "The ledger {path} is corrupt or not an SQLite database;"
                " it was left untouched, move it aside to start afresh."
            ).format(path=where)
        if name.startswith("SQLITE_READONLY"):
            return _("The ledger {path} is read-only.").format(path=where)
        if name.startswith("SQLITE_FULL"):
            return _("The disk holding the ledger {path} is full.").format(path=where)
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return ngettext(
                "The ledger {path} stayed locked by another process for more than {count} second.",
                "The ledger {path} stayed locked by another process for more than {count} seconds.",
                plural_count(BUSY_TIMEOUT),
            ).format(path=where, count=f"{BUSY_TIMEOUT:g}")
        if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM")):
            return _(
                "The ledger {path} cannot be opened"
                " (its directory must be writable for the journal files)."
            ).format(path=where)
        return _("The ledger {path} cannot be used: {reason}.").format(path=where, reason=text)

    # -- rows ----------------------------------------------------------------------------------

    @staticmethod
    def _load(conn: sqlite3.Connection, address: str) -> _Row:
        found = conn.execute(
            "SELECT wrong_codes, consecutive_failures, locked_until, locked_forever, lock_token"
            " FROM addresses WHERE address = ?",
            (address,),
        ).fetchone()
        if found is None:
            return _Row()
        wrong, consecutive, until, forever, token = found
        return _Row(int(wrong), int(consecutive), math.inf if forever else float(until), token)

    @staticmethod
    def _store(conn: sqlite3.Connection, address: str, row: _Row) -> None:
        forever = math.isinf(row.locked_until) and row.locked_until > 0
        conn.execute(
            "INSERT INTO addresses (address, wrong_codes, consecutive_failures, locked_until,"
            " locked_forever, lock_token) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (address) DO UPDATE SET wrong_codes = excluded.wrong_codes,"
            " consecutive_failures = excluded.consecutive_failures,"
            " locked_until = excluded.locked_until, locked_forever = excluded.locked_forever,"
            " lock_token = excluded.lock_token",
            (
                address,
                row.wrong_codes,
                row.consecutive_failures,
                0.0 if forever else row.locked_until,
                int(forever),
                row.lock_token,
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

    def _after_write(self, conn: sqlite3.Connection, now: float) -> None:
        """Called inside each write transaction: now and then, prune a bounded batch."""
        self._writes += 1
        if self._prune_backlog or self._writes % PRUNE_EVERY == 1:
            self._prune_backlog = self.prune(conn, now) >= PRUNE_BATCH

    @staticmethod
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

    # -- LimitsLedger --------------------------------------------------------------------------

    def status(self, address: str) -> LedgerEntry:
        # A read transaction so the two SELECTs see one snapshot; it writes nothing.
        with self._transaction("DEFERRED") as conn:
            return self._entry(conn, address, self._clock())

    def reserve_send(self, address: str, budget: SendBudget) -> float:
        with self._transaction("IMMEDIATE") as conn:
            now = self._clock()
            # Sends an hour old no longer count: forget them. A send stamped after `now` (the
            # clock went back) is kept and still counts, exactly as MemoryLedger does.
            conn.execute(
                "DELETE FROM sends WHERE address = ? AND sent_at <= ?", (address, now - HOUR)
            )
            recent = [
                float(t)
                for (t,) in conn.execute(
                    "SELECT sent_at FROM sends WHERE address = ? ORDER BY sent_at", (address,)
                )
            ]
            self._after_write(conn, now)
            wait = _wait_for_room(recent, budget.per_address, now)
            for name, per_hour in budget.windows():
                conn.execute(
                    "DELETE FROM budget_sends WHERE budget = ? AND sent_at <= ?",
                    (name, now - HOUR),
                )
                # Only the newest `per_hour` matter for the answer: bounded work per budget.
                newest = [
                    float(t)
                    for (t,) in conn.execute(
                        "SELECT sent_at FROM budget_sends WHERE budget = ?"
                        " ORDER BY sent_at DESC LIMIT ?",
                        (name, per_hour),
                    )
                ]
                wait = max(wait, _wait_for_room(newest[::-1], per_hour, now))
            if wait > 0:
                return wait
            conn.execute("INSERT INTO sends (address, sent_at) VALUES (?, ?)", (address, now))
            conn.executemany(
                "INSERT INTO budget_sends (budget, sent_at) VALUES (?, ?)",
                [(name, now) for name, _per_hour in budget.windows()],
            )
            return 0.0

    def budget_sends(self, name: str) -> int:
        """Sends in the last hour counted against the shared budget `name`."""
        with self._transaction("DEFERRED") as conn:
            return int(
                conn.execute(
                    "SELECT count(*) FROM budget_sends WHERE budget = ? AND sent_at > ?",
                    (name, self._clock() - HOUR),
                ).fetchone()[0]
            )

    def admit_guess(self, address: str, limits: GuessLimits, token: str) -> GuessVerdict:
        with self._transaction("IMMEDIATE") as conn:
            now = self._clock()
            self._after_write(conn, now)
            row = self._load(conn, address)
            if row.locked_until - now > 0:
                return GuessRefused(row.locked_until - now)
            row.wrong_codes += 1
            row.consecutive_failures += 1
            attempts_left = max(0, limits.max_attempts - row.wrong_codes)
            lock: float | None = None
            if row.consecutive_failures >= limits.max_consecutive_failures:
                lock = FOREVER
            elif attempts_left == 0:
                lock = float(limits.lockout)
            if lock is not None:
                row.locked_until = max(row.locked_until, now + lock)
                row.wrong_codes = 0
                row.lock_token = token
                attempts_left = 0
            self._store(conn, address, row)
            return GuessAdmitted(attempts_left, lock)

    def record_wrong_code(self, address: str) -> LedgerEntry:
        """A building block of `admit_guess`, for tests that set a scene."""
        with self._transaction("IMMEDIATE") as conn:
            self._after_write(conn, self._clock())
            row = self._load(conn, address)
            row.wrong_codes += 1
            row.consecutive_failures += 1
            self._store(conn, address, row)
            return self._entry(conn, address, self._clock())

    def lock(self, address: str, seconds: float) -> None:
        """A building block of `admit_guess`, for tests that set a scene."""
        with self._transaction("IMMEDIATE") as conn:
            row = self._load(conn, address)
            # Never shorten a lock already in place (and FOREVER stays FOREVER).
            row.locked_until = max(row.locked_until, self._clock() + seconds)
            row.wrong_codes = 0
            row.lock_token = None
            self._store(conn, address, row)

    def record_success(self, address: str, token: str | None = None) -> None:
        with self._transaction("IMMEDIATE") as conn:
            row = self._load(conn, address)
            row.wrong_codes = 0
            row.consecutive_failures = 0
            if token is not None and row.lock_token == token:
                row.locked_until = 0.0
                row.lock_token = None
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
