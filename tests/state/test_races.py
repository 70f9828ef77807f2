"""Many processes at once on one ledger: no guess compared past the limit, no count lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import state_workers
from state_helpers import run_all

from otp_tui.state.sqlite_ledger import SqliteLedger

ALICE = "alice@example.com"


@pytest.mark.slow
def test_racing_verifications_compare_no_more_guesses_than_the_window_allows(
    tmp_path: Path, processes: Any
) -> None:
    # Before guesses were admitted by the ledger, 16 such processes compared 9 guesses in a
    # 5-guess window: each checked the lock, then compared, then counted.
    path = tmp_path / "ledger.sqlite3"
    SqliteLedger(path).close()
    compared = run_all(processes, state_workers.guess_until_locked, (str(path), ALICE), 24)
    assert all(0 <= count <= 5 for count in compared), compared
    assert sum(compared) == 5
    with SqliteLedger(path) as ledger:
        entry = ledger.status(ALICE)
    assert entry.consecutive_failures == 5
    assert entry.locked_for > 0
