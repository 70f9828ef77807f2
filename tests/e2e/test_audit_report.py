"""`otp-tui report` over an audit trail written by real runs of the program.

Three plain-mode journeys in real pseudo-terminals write the trail: alice verified after one
wrong code, then logrotate's work is done by hand (the file renamed to `audit.jsonl.1` and
gzipped), then bob locked after a wrong code and carol gives up with Ctrl+D. A line cut short
(as a full disk leaves it) sits in the live file. The report reads both files, whatever the form.
"""

from __future__ import annotations

import gzip
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
from collections.abc import Callable

import pytest
from pty_harness import OtpHome, Terminal
from test_journey import wrong_code

pytestmark = pytest.mark.slow


def _journey(term: Terminal, address: str) -> None:
    term.expect("Email address: ")
    term.type(address + "\r")
    term.expect("Code: ")


@pytest.fixture
def trail(terminal: Callable[..., Terminal], otp_home: OtpHome) -> OtpHome:
    alice = terminal("--plain")
    _journey(alice, "alice@example.com")
    alice.type(wrong_code(otp_home.read_code()) + "\r")
    alice.expect("Wrong code")
    alice.type(otp_home.read_code() + "\r")
    alice.expect("Verified")
    assert alice.wait() == 0

    live = otp_home.audit_path
    rotated = live.with_name("audit.jsonl.1.gz")
    with live.open("rb") as source, gzip.open(rotated, "wb") as target:
        shutil.copyfileobj(source, target)
    live.unlink()

    bob = terminal("--plain", "--set", "policy.max_attempts=1")
    _journey(bob, "bob@example.com")
    bob.type(wrong_code(otp_home.read_code()) + "\r")
    bob.expect("Locked")
    assert bob.wait() == 1

    carol = terminal("--plain")
    _journey(carol, "carol@example.com")
    carol.send("\x04")  # Ctrl+D at the prompt: gives up
    assert carol.wait() == 1

    with live.open("ab") as file:
        file.write(b'{"ts": "2026-12-04T10:00:00.000+00:00", "event": "ver')  # cut short
    return otp_home


def report(home: OtpHome, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "otp_tui", "report", *args],
        capture_output=True,
        text=True,
        env={**home.env, "TZ": "UTC"},
        timeout=60,
        check=False,
    )


def test_the_json_report_counts_every_run_across_the_rotated_file(trail: OtpHome) -> None:
    run = report(trail, "--json")
    assert (run.returncode, run.stderr) == (0, "")
    record = json.loads(run.stdout)
    me = pwd.getpwuid(os.getuid()).pw_name
    assert record["files"] == [
        str(trail.state / "audit.jsonl.1.gz"),
        str(trail.state / "audit.jsonl"),
    ]
    assert record["totals"] == {
        "cancelled": 1,
        "locked": 1,
        "send_requested": 3,
        "sent": 3,
        "verified": 1,
        "wrong_code": 1,  # bob's one wrong code is the lock itself: no wrong_code line
    }
    assert record["malformed"] == 1
    assert record["by_user"] == {me: record["totals"]}
    assert record["by_service"] == {"-": record["totals"]}
    assert record["by_origin"] == {"local": record["totals"]}
    assert "alice@example.com" not in run.stdout  # a summary, never the addresses


def test_the_period_leaves_out_what_falls_outside_it(trail: OtpHome) -> None:
    later = report(trail, "--json", "--since", "2999-01-01")
    assert json.loads(later.stdout)["totals"] == {}
    recent = report(trail, "--json", "--since", "1h")
    assert json.loads(recent.stdout)["totals"]["verified"] == 1
    earlier = report(trail, "--json", "--until", "2000-01-01T00:00")
    assert json.loads(earlier.stdout)["totals"] == {}


def test_the_table_has_a_row_for_all_and_for_each_user(trail: OtpHome) -> None:
    run = report(trail)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert re.fullmatch(
        r"Audit trail from the start to \d{4}-\d\d-\d\d \d\d:\d\d UTC: 2 files, \d+ lines, "
        r"1 malformed",
        lines[0],
    )
    assert lines[2].split() == [
        "sent", "verified", "wrong", "locked", "failed", "no", "mail", "cancelled", "interrupted",
    ]  # fmt: skip
    assert lines[3].split() == ["all", "3", "1", "1", "1", "0", "0", "1", "0"]
    me = pwd.getpwuid(os.getuid()).pw_name
    assert lines[4].split() == ["user", me, "3", "1", "1", "1", "0", "0", "1", "0"]


def test_openmetrics_for_the_textfile_collector_holds_no_address(trail: OtpHome) -> None:
    run = report(trail, "--openmetrics")
    assert run.returncode == 0, run.stderr
    text = run.stdout
    assert 'otp_tui_audit_events{event="verified"} 1' in text.splitlines()
    assert 'otp_tui_audit_events{event="wrong_code"} 1' in text.splitlines()
    assert text.endswith("# EOF\n")
    assert "@" not in text
    assert "origin" not in text  # client addresses stay out of the metrics
    assert "local" not in text
    # Every sample line is a metric the format allows: name, labels, a number.
    for line in text.splitlines():
        if not line.startswith("#"):
            assert re.fullmatch(r'[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.]+', line)


def test_an_unreadable_trail_is_one_line_and_status_2(trail: OtpHome) -> None:
    run = report(trail, "--trail", str(trail.root / "nowhere" / "audit.jsonl"))
    assert run.returncode == 2
    assert run.stderr.startswith("otp-tui report: no audit trail at ")
    assert len(run.stderr.splitlines()) == 1
    bad = report(trail, "--since", "last tuesday")
    assert bad.returncode == 2
    assert "is not a moment" in bad.stderr
