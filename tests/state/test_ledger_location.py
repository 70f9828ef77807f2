"""`[state] ledger` is read strictly: a value that cannot mean what it says is refused with one
line, and never quietly becomes a file of that name (each host its own ledger)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from otp_tui.config.ledger_location import (
    LedgerLocationError,
    Topology,
    parse_path,
    parse_redis,
)

ROOT = Path(__file__).resolve().parents[2]

REFUSED = {
    "unknown scheme": ("memcached://127.0.0.1:11211", "a URL of scheme memcached:"),
    "unknown redis form": ("redis+proxy://127.0.0.1:7000", "a URL of scheme redis+proxy:"),
    "one slash": ("redis:/127.0.0.1", "a redis: URL must start with redis://"),
    "no slash": ("rediss:cache.example:6380", "a rediss: URL must start with rediss://"),
    "relative path": ("ledger.sqlite3", "a relative path"),
    "relative folder": ("state/ledger.sqlite3", "a relative path"),
    "two servers for one": ("redis://:pw@a:1,b:2", "names one server"),
    "a query": ("redis://:pw@a:1/0?ssl_cert_reqs=none", "a query or fragment"),
}


@pytest.mark.parametrize(("value", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_a_ledger_that_cannot_mean_what_it_says_is_refused_with_one_line(
    value: str, reason: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\nledger = "{value}"\n')
    config.chmod(0o600)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "otp_tui", "--config", str(config), "status", "a@example.com"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (2, "")
    [line] = done.stderr.splitlines()
    assert "state.ledger" in line
    assert reason in line
    assert "pw" not in line.replace("pw@", "")  # never the password (nor the value)
    assert ":pw@" not in line
    assert list(cwd.iterdir()) == []  # no file was made of it
    assert list(tmp_path.glob("**/*.sqlite3")) == []


def test_the_forms_that_are_read() -> None:
    single = parse_redis("rediss://otp:p%40ss@cache.example:6380/2")
    assert (single.topology, single.tls, single.hosts, single.db) == (
        Topology.SINGLE,
        True,
        (("cache.example", 6380),),
        2,
    )
    assert (single.username, single.password) == ("otp", "p@ss")
    assert single.where == "cache.example:6380"
    assert parse_redis("redis://[::1]/0").where == "[::1]:6379"
    assert parse_path("~/ledger.sqlite3") == Path.home() / "ledger.sqlite3"
    with pytest.raises(LedgerLocationError, match="port that is not a number"):
        parse_redis("redis://h:99999")
