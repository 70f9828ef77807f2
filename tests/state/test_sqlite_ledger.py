"""What only the SQLite ledger must get right: the file, its modes, failing closed, races."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import stat
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import state_workers
from ledger_scenes import lock, record_wrong_code
from state_helpers import FakeClock, run_all, run_unprivileged

from otp_tui.config.schema import Settings
from otp_tui.core.limits import FOREVER, LedgerEntry, SendBudget
from otp_tui.state.errors import LedgerError
from otp_tui.state.ledger import default_ledger_path, open_ledger
from otp_tui.state.sqlite_ledger import SqliteLedger
from otp_tui.state.sqlite_schema import PRUNE_BATCH, SCHEMA_VERSION

ALICE = "alice@example.com"


def _listing(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.iterdir()}


# -- the file ------------------------------------------------------------------------------------


def test_counts_and_locks_survive_reopening_the_file(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "ledger.sqlite3"
    with SqliteLedger(path, clock=clock) as ledger:
        assert ledger.reserve_send(ALICE, SendBudget(5, 60, 10)) == 0
        for _ in range(3):
            record_wrong_code(ledger, ALICE)
        lock(ledger, ALICE, 900)
        record_wrong_code(ledger, ALICE)
        lock(ledger, "bob@example.com", FOREVER)
    clock.advance(100)
    with SqliteLedger(path, clock=clock) as reopened:
        assert reopened.status(ALICE) == LedgerEntry(1, 1, 4, 800.0)
        assert reopened.status("bob@example.com").locked_for == FOREVER


def test_the_directory_and_file_are_private_and_no_code_is_a_column(tmp_path: Path) -> None:
    path = tmp_path / "new" / "state" / "ledger.sqlite3"
    old_umask = os.umask(0o022)
    try:
        with SqliteLedger(path) as ledger:
            record_wrong_code(ledger, ALICE)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = {
            column
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            for (_, column, *_rest) in conn.execute(f"PRAGMA table_info({table})")
        }
    assert not {name for name in columns if "code" in name} - {"wrong_codes"}
    conn.close()


def test_the_default_path_is_in_the_user_state_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_ledger_path() == tmp_path / "otp-tui" / "ledger.sqlite3"
    with open_ledger(Settings()) as ledger:
        assert isinstance(ledger, SqliteLedger)
        assert ledger.path == tmp_path / "otp-tui" / "ledger.sqlite3"
    chosen = tmp_path / "elsewhere.sqlite3"
    with open_ledger(Settings(state={"ledger": chosen})) as ledger:  # type: ignore[arg-type]
        assert isinstance(ledger, SqliteLedger)
        assert ledger.path == chosen
    assert chosen.exists()


# -- failing closed ------------------------------------------------------------------------------


def _refused(path: Path) -> str:
    with pytest.raises(LedgerError) as caught:
        SqliteLedger(path)
    message = str(caught.value)
    assert str(path) in message
    assert "\n" not in message
    return message


def test_a_file_of_garbage_is_refused_and_left_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(bytes(range(256)) * 64)
    before = _listing(tmp_path)
    assert "corrupt or not an SQLite database" in _refused(path)
    assert _listing(tmp_path) == before  # no -wal, no -shm, nothing rewritten


def test_a_database_that_is_not_a_ledger_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()
    before = _listing(tmp_path)
    assert "not an otp-tui ledger" in _refused(path)
    assert _listing(tmp_path) == before


def test_a_ledger_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    SqliteLedger(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    assert "newer otp-tui" in _refused(path)


def test_a_directory_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ledger.sqlite3").mkdir()
    _refused(tmp_path / "ledger.sqlite3")
    (tmp_path / "file").write_text("not a directory")
    _refused(tmp_path / "file" / "ledger.sqlite3")


def test_a_closed_ledger_refuses_to_answer(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    ledger.close()
    ledger.close()  # twice is harmless
    with pytest.raises(LedgerError, match="closed"):
        ledger.status(ALICE)


def test_an_unwritable_directory_is_refused(shared_dir: Path) -> None:
    def body() -> dict[str, Any]:
        locked = shared_dir / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        messages = []
        for path in (locked / "ledger.sqlite3", locked / "sub" / "ledger.sqlite3"):
            try:
                SqliteLedger(path)
            except LedgerError as error:
                messages.append(str(error))
        return {"messages": messages, "left": os.listdir(locked)}

    result = run_unprivileged(body)
    assert len(result["messages"]) == 2
    assert all("permission denied" in message for message in result["messages"])
    assert result["left"] == []


def test_a_read_only_ledger_is_refused_and_kept(shared_dir: Path) -> None:
    def body() -> dict[str, Any]:
        path = shared_dir / "ledger.sqlite3"
        with SqliteLedger(path) as ledger:
            record_wrong_code(ledger, ALICE)
        path.chmod(0o400)
        before = path.read_bytes()
        try:
            SqliteLedger(path)
        except LedgerError as error:
            return {"message": str(error), "same": path.read_bytes() == before}
        return {"message": None}

    result = run_unprivileged(body)
    assert result["message"] is not None
    assert "permission denied" in result["message"]
    assert result["same"]


def test_a_directory_made_read_only_after_opening_stops_new_processes(shared_dir: Path) -> None:
    # The file is writable but WAL needs its -wal and -shm files beside it.
    def body() -> dict[str, Any]:
        directory = shared_dir / "state"
        SqliteLedger(directory / "ledger.sqlite3").close()
        directory.chmod(0o555)
        try:
            SqliteLedger(directory / "ledger.sqlite3")
        except LedgerError as error:
            return {"message": str(error)}
        return {"message": None}

    assert run_unprivileged(body)["message"] is not None


def test_a_full_disk_is_a_ledger_error_and_keeps_what_was_committed(shared_dir: Path) -> None:
    # RLIMIT_FSIZE stands in for a full disk: writes past it fail as ENOSPC-like errors.
    def body() -> dict[str, Any]:
        path = shared_dir / "ledger.sqlite3"
        ledger = SqliteLedger(path)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
        recorded = 0
        try:
            for _ in range(10_000):
                record_wrong_code(ledger, ALICE)
                recorded += 1
        except LedgerError as error:
            message = str(error)
        else:
            return {"message": None}
        # Room again: the same ledger object carries on, no transaction left dangling.
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        record_wrong_code(ledger, ALICE)
        ledger.close()
        return {"message": message, "recorded": recorded + 1}

    result = run_unprivileged(body)
    assert result["message"] is not None
    assert "ledger.sqlite3" in result["message"]
    assert result["recorded"] > 1
    with SqliteLedger(shared_dir / "ledger.sqlite3") as ledger:
        assert ledger.status(ALICE).consecutive_failures == result["recorded"]


# -- fifty processes at once ---------------------------------------------------------------------


@pytest.mark.slow
def test_fifty_processes_lose_no_wrong_code(tmp_path: Path, processes: Any) -> None:
    # The file does not exist yet: the first open, which creates the schema, races too.
    path = tmp_path / "ledger.sqlite3"
    codes = run_all(processes, state_workers.wrong_codes, (str(path), ALICE, 20))
    assert codes == [0] * 50
    with SqliteLedger(path) as ledger:
        assert ledger.status(ALICE) == LedgerEntry(0, 1000, 1000, 0.0)


@pytest.mark.slow
def test_fifty_processes_never_overspend_the_hourly_budget(tmp_path: Path, processes: Any) -> None:
    path = tmp_path / "ledger.sqlite3"
    codes = run_all(processes, state_workers.reserve_send, (str(path), ALICE, 30))
    assert Counter(codes) == {state_workers.RESERVED: 30, state_workers.REFUSED: 20}
    with SqliteLedger(path) as ledger:
        assert ledger.status(ALICE).sends_last_hour == 30


def test_a_ledger_of_the_first_schema_is_migrated_with_its_counts(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            """
            CREATE TABLE addresses (
                address TEXT PRIMARY KEY NOT NULL,
                wrong_codes INTEGER NOT NULL DEFAULT 0,
                consecutive_failures INTEGER NOT NULL DEFAULT 0,
                locked_until REAL NOT NULL DEFAULT 0,
                locked_forever INTEGER NOT NULL DEFAULT 0 CHECK (locked_forever IN (0, 1))
            );
            CREATE TABLE sends (address TEXT NOT NULL, sent_at REAL NOT NULL);
            CREATE INDEX sends_by_address ON sends (address, sent_at);
            PRAGMA user_version = 1;
            """
        )
        conn.execute("INSERT INTO addresses VALUES (?, 2, 7, ?, 0)", (ALICE, clock.now + 60))
        conn.execute("INSERT INTO sends VALUES (?, ?)", (ALICE, clock.now - 10))
    conn.close()
    with SqliteLedger(path, clock=clock) as ledger:
        assert ledger.status(ALICE) == LedgerEntry(1, 2, 7, 60.0)
        assert ledger.reserve_send(ALICE, SendBudget(5, 60, 10)) == 0
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


# -- pruning -------------------------------------------------------------------------------------


def _table_sizes(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        sizes = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in ("addresses", "sends", "budget_sends")
        }
    conn.close()
    return sizes


@pytest.mark.slow
def test_a_million_old_journeys_shrink_to_the_live_set(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "ledger.sqlite3"
    SqliteLedger(path, clock=clock).close()
    long_ago = clock.now - 30 * 24 * 3600
    with sqlite3.connect(path) as conn:
        # A million journeys that ended a month ago: an address row with nothing counted (or a
        # lock long over), its send and the send in its requester's budget.
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)"
            " INSERT INTO addresses SELECT 'old' || i || '@example.com', 0, 0,"
            " CASE WHEN i % 10 = 0 THEN ? ELSE 0 END, 0, NULL FROM n",
            (long_ago + 900,),
        )
        conn.execute("INSERT INTO sends SELECT address, ? + rowid FROM addresses", (long_ago,))
        # Each in the budget of a requester never seen again: the whole ledger's own budget
        # cannot hold more than an hour's sends, as every send clears what aged out of it.
        conn.execute(
            "INSERT INTO budget_sends SELECT 'requester:' || rowid, ? + rowid FROM addresses",
            (long_ago,),
        )
        # The live set: what still counts must survive.
        live = [
            ("forever@example.com", 0, 0, 0.0, 1),  # a lock only an operator lifts, however old
            ("failing@example.com", 0, 42, 0.0, 0),  # consecutive failures still count
            ("locked@example.com", 0, 3, clock.now + 600, 0),
        ]
        conn.executemany("INSERT INTO addresses VALUES (?, ?, ?, ?, ?, NULL)", live)
        conn.execute("INSERT INTO sends VALUES ('recent@example.com', ?)", (clock.now - 60,))
        conn.execute("INSERT INTO budget_sends VALUES ('total', ?)", (clock.now - 60,))
    # Into the main file, as a ledger that grew over years would be (not a 200 MB journal
    # that the first write would have to copy back).
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert _table_sizes(path) == {
        "addresses": 1_000_003,
        "sends": 1_000_001,
        "budget_sends": 1_000_001,
    }

    took = []
    budget = SendBudget(per_address=5, total=1000, per_requester=10)
    with SqliteLedger(path, clock=clock) as ledger:
        for number in range(600):  # ordinary runs: one send each
            started = time.perf_counter()
            ledger.reserve_send(f"new{number % 200}@example.com", budget)
            took.append(time.perf_counter() - started)
            clock.advance(1)
            if number == 0:
                # Bounded work in each write, however large the backlog: the first write
                # pruned one batch of each kind, not the whole backlog.
                first = _table_sizes(path)
                assert first["addresses"] >= 1_000_003 - PRUNE_BATCH
                assert first["sends"] >= 1_000_001 - PRUNE_BATCH
                assert first["budget_sends"] >= 1_000_001 - PRUNE_BATCH
        assert ledger.status("forever@example.com").locked_for == FOREVER
        assert ledger.status("failing@example.com").consecutive_failures == 42
        assert ledger.status("recent@example.com").sends_last_hour == 1
    sizes = _table_sizes(path)
    # Left: the three live rows, and this test's own sends (their 200 addresses have no row).
    assert sizes == {"addresses": 3, "sends": 1 + 600, "budget_sends": 1 + 600}
    # And in time: the first write also reads the cold 200 MB file, which is the disk's speed
    # (2 s once in CI), so it is judged by the rows it deleted above, not by the clock.
    assert max(took[1:]) < 1.5
    assert statistics.median(took) < 0.05
