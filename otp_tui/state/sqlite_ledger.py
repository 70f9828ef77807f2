"""The limits ledger in an SQLite file: counts per address that every process and restart shares.

`SqliteLedger` implements `otp_tui.core.limits.LimitsLedger` by applying the core's rules
(`judge_guess`, `after_success`, `wait_for_send`) to the rows of one short transaction per call;
the ones that read, decide and write start with ``BEGIN IMMEDIATE`` so that racing processes
queue for the write lock instead of both passing a check. The tables are `sqlite_schema`'s.

Every failure (permissions, a corrupt or foreign file, a full disk, a lock held too long) comes
out as one `LedgerError` whose message is a sentence naming the file (`sqlite_errors`), so the
caller can stop the flow with a clear message: the ledger fails closed. A file that is not a
ledger is never replaced, truncated or deleted.
"""

from __future__ import annotations

import math
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Literal

from otp_tui.core.limits import (
    HOUR,
    GuessCounts,
    GuessLimits,
    GuessVerdict,
    LedgerEntry,
    SendBudget,
    after_success,
    judge_guess,
    wait_for_send,
)
from otp_tui.language import _
from otp_tui.state.errors import LedgerError
from otp_tui.state.sqlite_errors import describe, errorname
from otp_tui.state.sqlite_schema import PRUNE_BATCH, ensure_schema, prune

# How long one process waits for another's write transaction before giving up (and failing
# closed). Transactions last microseconds, so reaching this means something is badly wrong.
BUSY_TIMEOUT = 10.0

# Old rows are pruned by the first write of each process, then every PRUNE_EVERY-th, or every
# write while a backlog remains.
PRUNE_EVERY = 64


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
                ensure_schema(conn, self.path)
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
                if not errorname(error).startswith("SQLITE_BUSY") or time.monotonic() > deadline:
                    raise
                # Jitter from secrets too: otp_tui keeps the random module out entirely.
                time.sleep(pause * (0.5 + secrets.randbelow(1000) / 1000))
                pause = min(pause * 2, 0.05)
        # In WAL mode NORMAL never corrupts the file; it can only lose the last commits if the
        # machine (not the process) crashes, and it keeps 50 racing writers fast.
        conn.execute("PRAGMA synchronous=NORMAL")

    # -- transactions and errors ---------------------------------------------------------------

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as error:
            raise LedgerError(describe(error, self.path, BUSY_TIMEOUT), self.path) from error

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

    # -- rows ----------------------------------------------------------------------------------

    @staticmethod
    def _load(conn: sqlite3.Connection, address: str) -> GuessCounts:
        found = conn.execute(
            "SELECT wrong_codes, consecutive_failures, locked_until, locked_forever, lock_token"
            " FROM addresses WHERE address = ?",
            (address,),
        ).fetchone()
        if found is None:
            return GuessCounts()
        wrong, consecutive, until, forever, token = found
        return GuessCounts(
            int(wrong), int(consecutive), math.inf if forever else float(until), token
        )

    @staticmethod
    def _store(conn: sqlite3.Connection, address: str, counts: GuessCounts) -> None:
        forever = math.isinf(counts.locked_until) and counts.locked_until > 0
        conn.execute(
            "INSERT INTO addresses (address, wrong_codes, consecutive_failures, locked_until,"
            " locked_forever, lock_token) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (address) DO UPDATE SET wrong_codes = excluded.wrong_codes,"
            " consecutive_failures = excluded.consecutive_failures,"
            " locked_until = excluded.locked_until, locked_forever = excluded.locked_forever,"
            " lock_token = excluded.lock_token",
            (
                address,
                counts.wrong_codes,
                counts.consecutive_failures,
                0.0 if forever else counts.locked_until,
                int(forever),
                counts.lock_token,
            ),
        )

    def _entry(self, conn: sqlite3.Connection, address: str, now: float) -> LedgerEntry:
        counts = self._load(conn, address)
        # Sends stamped in the future (the wall clock went back) count, as in reserve_send.
        sends = conn.execute(
            "SELECT count(*) FROM sends WHERE address = ? AND sent_at > ?",
            (address, now - HOUR),
        ).fetchone()[0]
        return LedgerEntry(
            sends_last_hour=int(sends),
            wrong_codes=counts.wrong_codes,
            consecutive_failures=counts.consecutive_failures,
            locked_for=max(0.0, counts.locked_until - now),
        )

    def _after_write(self, conn: sqlite3.Connection, now: float) -> None:
        """Called inside each write transaction: now and then, prune a bounded batch."""
        self._writes += 1
        if self._prune_backlog or self._writes % PRUNE_EVERY == 1:
            self._prune_backlog = prune(conn, now) >= PRUNE_BATCH

    # -- LimitsLedger --------------------------------------------------------------------------

    def status(self, address: str) -> LedgerEntry:
        # A read transaction so the two SELECTs see one snapshot; it writes nothing.
        with self._transaction("DEFERRED") as conn:
            return self._entry(conn, address, self._clock())

    def reserve_send(self, address: str, budget: SendBudget) -> float:
        with self._transaction("IMMEDIATE") as conn:
            now = self._clock()
            # Sends an hour old no longer count: forget them. A send stamped after `now` (the
            # clock went back) is kept and still counts, as the core's rule says.
            conn.execute(
                "DELETE FROM sends WHERE address = ? AND sent_at <= ?", (address, now - HOUR)
            )
            mine = [
                float(t)
                for (t,) in conn.execute("SELECT sent_at FROM sends WHERE address = ?", (address,))
            ]
            self._after_write(conn, now)
            shared: dict[str, list[float]] = {}
            for name, per_hour in budget.windows():
                conn.execute(
                    "DELETE FROM budget_sends WHERE budget = ? AND sent_at <= ?",
                    (name, now - HOUR),
                )
                # Only the newest `per_hour` matter for the answer: bounded work per budget.
                shared[name] = [
                    float(t)
                    for (t,) in conn.execute(
                        "SELECT sent_at FROM budget_sends WHERE budget = ?"
                        " ORDER BY sent_at DESC LIMIT ?",
                        (name, per_hour),
                    )
                ]
            wait = wait_for_send(mine, budget, shared, now)
            if wait > 0:
                return wait
            conn.execute("INSERT INTO sends (address, sent_at) VALUES (?, ?)", (address, now))
            conn.executemany(
                "INSERT INTO budget_sends (budget, sent_at) VALUES (?, ?)",
                [(name, now) for name, _per_hour in budget.windows()],
            )
            return 0.0

    def admit_guess(self, address: str, limits: GuessLimits, token: str) -> GuessVerdict:
        with self._transaction("IMMEDIATE") as conn:
            now = self._clock()
            self._after_write(conn, now)
            counts = self._load(conn, address)
            verdict, kept = judge_guess(counts, limits, token, now)
            if kept != counts:
                self._store(conn, address, kept)
            return verdict

    def record_success(self, address: str, token: str | None = None) -> None:
        with self._transaction("IMMEDIATE") as conn:
            self._store(conn, address, after_success(self._load(conn, address), token))

    def unlock(self, address: str) -> None:
        with self._transaction("IMMEDIATE") as conn:
            self._store(conn, address, GuessCounts())

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
