"""Every command ends quietly when whoever reads its output goes away, as git does.

Each command runs as a real process whose stdout is a real pipe with no reader left: the test
closes the reading end before the program writes its first byte, so every write fails with
EPIPE. The program must print no traceback and exit with the status it would have had.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pty_harness import OtpHome, Terminal


def _run_into_closed_pipe(home: OtpHome, *args: str) -> subprocess.CompletedProcess[bytes]:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: the first write fails with EPIPE
    try:
        return subprocess.run(
            [sys.executable, "-m", "otp_tui", *args],
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=home.env,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.fixture
def home(tmp_path: Path) -> OtpHome:
    return OtpHome.create(tmp_path / "home")


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("check",), 0),  # demo mode: the embedded outbox passes every step
        (("status", "a@example.com"), 0),
        (("--json", "status", "a@example.com"), 0),
        (("unlock", "a@example.com"), 0),
        (("status", "not an address"), 2),
        (("--help",), 0),
    ],
)
def test_a_reader_that_went_away_costs_no_traceback_and_no_status(
    home: OtpHome, args: tuple[str, ...], status: int
) -> None:
    run = _run_into_closed_pipe(home, *args)
    assert b"Traceback" not in run.stderr
    assert b"BrokenPipe" not in run.stderr
    assert b"Exception ignored" not in run.stderr
    assert run.returncode == status, run.stderr


@pytest.mark.parametrize("buffered", [False, True])
def test_head_reads_the_first_line_of_check_and_the_check_still_passes(
    home: OtpHome, buffered: bool
) -> None:
    """The operator's own pipeline, `otp-tui check | head`, through a real shell; buffered
    output fails only when flushed at exit, unbuffered at the first line after head left."""
    env = dict(home.env)
    if buffered:
        env.pop("PYTHONUNBUFFERED")
    run = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {sys.executable} -m otp_tui check | head -c 1"],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert b"Traceback" not in run.stderr
    assert run.returncode == 0, run.stderr
    assert len(run.stdout) == 1


def test_a_json_run_whose_reader_left_still_exits_with_its_verdict(
    terminal: Callable[..., Terminal], otp_home: OtpHome, tmp_path: Path
) -> None:
    """`otp-tui --json --plain | (reader that leaves)`: the verified run exits 0, quietly.

    stdout is a FIFO whose only reader is closed once the program holds the writing end, so
    the JSON line meets EPIPE; stdin and stderr stay on the terminal, as in a real pipeline.
    """
    fifo = tmp_path / "stdout.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # lets the program open it for writing
    term = terminal("--plain", "--json", stdout_file=fifo)
    os.close(reader)
    term.expect("Email address: ")
    term.type("bob@example.com\r")
    term.expect("Code: ")
    term.type(otp_home.read_code() + "\r")
    term.expect("Verified")
    assert term.wait() == 0
    assert "Traceback" not in term.text
    assert "Broken pipe" not in term.text
