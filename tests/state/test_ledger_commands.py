"""`otp-tui status`, `unlock` and `check` on every form of the ledger: SQLite, one Redis server,
Sentinel, Cluster."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from otp_tui.cli import main
from otp_tui.config.schema import Settings, StateSettings
from otp_tui.core.limits import GuessLimits
from otp_tui.state.ledger import open_ledger

ALICE = "alice@example.com"
LOCKS_AT_ONCE = GuessLimits(max_attempts=1, lockout=900, max_consecutive_failures=100)


@pytest.fixture(params=["sqlite", "redis", "sentinel", "cluster"])
def ledger_value(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite3")
    fixture = {
        "redis": "fresh_redis",
        "sentinel": "fresh_sentinel_group",
        "cluster": "fresh_cluster",
    }
    return str(request.getfixturevalue(fixture[request.param]).url())


def test_status_unlock_and_check_work_on_every_form(
    ledger_value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\nledger = "{ledger_value}"\n')
    os.chmod(config, 0o600)  # the URL holds a password
    with open_ledger(Settings(state=StateSettings(ledger=ledger_value))) as ledger:
        ledger.admit_guess(ALICE, LOCKS_AT_ONCE, "t")
    assert main(["--config", str(config), "status", ALICE]) == 0
    shown = capsys.readouterr()
    assert "locked until" in shown.out, shown
    assert main(["--config", str(config), "unlock", ALICE]) == 0
    assert capsys.readouterr().out.startswith(f"Unlocked {ALICE}: lifted the lock until")
    assert main(["--config", str(config), "status", ALICE]) == 0
    assert "locked until" not in capsys.readouterr().out
    main(["--config", str(config), "check"])  # the mail part may fail: no SMTP server here
    ledger_line = [
        line for line in capsys.readouterr().out.splitlines() if line.startswith("ledger:")
    ]
    assert len(ledger_line) == 1
    assert ledger_line[0].endswith(": ok"), ledger_line
