"""Fixtures for the state tests: a fake wall clock, both ledgers, a directory `nobody` can use."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from state_helpers import FakeClock

from otp_tui.core.limits import LimitsLedger, MemoryLedger
from otp_tui.state.ledger import SqliteLedger


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite"])
def ledger(
    request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path
) -> Iterator[LimitsLedger]:
    """The same contract, run against the reference ledger and the SQLite one."""
    if request.param == "memory":
        yield MemoryLedger(clock)
        return
    with SqliteLedger(tmp_path / "state" / "ledger.sqlite3", clock=clock) as sqlite_ledger:
        yield sqlite_ledger


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the unprivileged child may write to (tmp_path's parents are root-only)."""
    path = Path(tempfile.mkdtemp(prefix="otp-tui-state-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        # The child may have left read-only directories behind; give write access back first.
        for parent, dirs, _files in os.walk(path):
            for name in dirs:
                child = Path(parent, name)
                child.chmod(child.stat().st_mode | stat.S_IRWXU)
        shutil.rmtree(path)


@pytest.fixture(scope="session")
def processes() -> Any:
    # forkserver: each worker is a fork of one clean, preloaded server, so 50 start quickly
    # without inheriting pytest's state (plain fork would).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["state_workers"])
    return context
