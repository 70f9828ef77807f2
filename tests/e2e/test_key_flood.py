"""A flood of typed keys: memory stays bounded, the screen keeps answering, and an ending
signal ends the run within a second, audit line and all.

Two million digits, typed (not a bracketed paste), into the code screen of the real program in
a real pty. Without bounds, Textual queued every key it read (the process tree passed 100 MiB
within two seconds, and gigabytes later on), and a SIGTERM handled as an event-loop callback
waited behind them: the run was still there 10 s later.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pty_harness import OtpHome, Terminal, session_members
from test_signals_pty import ADDRESS, to_code_screen

pytestmark = pytest.mark.slow

DIGITS = 2_000_000
CHUNK = 4096
# The code screen takes about 55 MiB; the flood may add what a few frames and a bounded set of
# keys cost, never the keys themselves.
BUDGET_KIB = 100 * 1024


def flood(
    term: Terminal,
    count: int,
    limit: float,
    stop_after: float | None = None,
    *,
    before: bytes = b"",
    after: bytes = b"",
    budget_kib: int = BUDGET_KIB,
) -> tuple[float, int]:
    """Type `count` digits in chunks (as fast as the program reads them), reading what it
    draws and watching the memory of its process tree all the while. Returns the seconds it
    took and the largest memory seen (KiB); stops early after `stop_after` seconds."""
    assert term.master is not None
    os.set_blocking(term.master, False)
    sent = peak = 0
    chunk = ("1234567890" * (CHUNK // 10 + 1))[:CHUNK].encode()
    if before:
        term.send(before)
    started = time.monotonic()
    try:
        while sent < count:
            elapsed = time.monotonic() - started
            assert elapsed < limit, f"only {sent} of {count} digits read in {limit} s"
            if stop_after is not None and elapsed >= stop_after:
                break
            rss = term.tree_rss_kib()
            peak = max(peak, rss)
            if rss > budget_kib:
                term.kill()
                raise AssertionError(f"memory of the process tree reached {rss} KiB")
            readable, writable, _ = select.select([term.master], [term.master], [], 0.05)
            if readable:
                term.drain()
            if writable:
                with contextlib.suppress(BlockingIOError):
                    sent += os.write(term.master, chunk[: count - sent])
    finally:
        if term.master is not None:
            os.set_blocking(term.master, True)
    if after and term.master is not None:
        term.send(after)
    return time.monotonic() - started, peak


def test_a_flood_of_digits_keeps_memory_bounded_and_the_screen_answering(
    terminal: Callable[..., Terminal], otp_home: OtpHome, tmp_path: Path
) -> None:
    term = terminal("--json", stdout_file=tmp_path / "stdout")
    to_code_screen(term)
    took, peak = flood(term, DIGITS, limit=180)
    print(f"{DIGITS} digits read in {took:.1f} s; peak RSS of the process tree {peak} KiB")
    # Every six digits were a guess, one at a time, until the fifth wrong one locked the
    # address: the flood made no more guesses than a person could.
    term.expect("Locked", timeout=10)
    term.send("\x11")  # ctrl+q: the screen still answers
    assert term.wait(timeout=10) == 1
    result = term.json_line()
    assert (result["reason"], result["wrong_attempts"]) == ("locked", 5)
    events = [line["event"] for line in otp_home.audit_lines()]
    assert events.count("wrong_code") == 4
    assert events.count("locked") == 1


def read_everything(term: Terminal, timeout: float = 30) -> None:
    """Wait until the program has read everything typed into its terminal."""
    fd = os.open(f"/proc/{term.pid}/fd/0", os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        deadline = time.monotonic() + timeout
        while struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]:
            assert time.monotonic() < deadline, f"input still unread after {timeout} s"
            term._pump(0.01)
            term.drain()
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    ("deliver", "status", "reason"),
    [
        (signal.SIGTERM, 143, "terminated"),
        (signal.SIGHUP, 129, "hangup"),
        ("\x03", 130, "interrupted"),  # the Ctrl+C key, typed behind the flood
    ],
    ids=["SIGTERM", "SIGHUP", "ctrl+c key"],
)
def test_an_ending_signal_during_a_flood_ends_the_run_within_a_second_with_its_audit_line(
    terminal: Callable[..., Terminal],
    otp_home: OtpHome,
    tmp_path: Path,
    deliver: signal.Signals | str,
    status: int,
    reason: str,
) -> None:
    term = terminal("--json", stdout_file=tmp_path / "stdout")
    to_code_screen(term)
    flood(term, DIGITS, limit=180, stop_after=5.0)
    if isinstance(deliver, str):
        # A key is read after the digits already in the terminal's buffer (up to about 64 KB,
        # a second or more of Textual's parser): time it from when the program has read them,
        # with the app still behind on the keys it took.
        read_everything(term)
    sent_at = time.monotonic()
    if isinstance(deliver, str):
        term.send(deliver)
    else:
        os.kill(term.pid, deliver)
    ended = term.wait(timeout=10)
    took = time.monotonic() - sent_at
    print(f"{reason} during the flood: ended in {took:.2f} s with status {ended}")
    assert took < 1.0, f"the run took {took:.2f} s to end"
    assert ended == status
    assert term.json_line()["reason"] == reason
    last = otp_home.audit_lines()[-1]
    assert (last["event"], last["reason"], last["address"]) == ("interrupted", reason, ADDRESS)
    assert session_members(term.pid) == []


def test_a_megabyte_pasted_into_the_code_screen_is_refused_and_memory_stays_bounded(
    terminal: Callable[..., Terminal], otp_home: OtpHome
) -> None:
    term = terminal()
    to_code_screen(term)
    # A bracketed paste of a million digits (before: 164 MiB, searching it for a code).
    took, peak = flood(term, 1_000_000, limit=60, before=b"\x1b[200~", after=b"\x1b[201~")
    deadline = time.monotonic() + 30
    while "That paste held no single 6-digit code" not in term.text:
        assert time.monotonic() < deadline, "the paste was never answered"
        peak = max(peak, term.tree_rss_kib())
        assert peak <= BUDGET_KIB, f"memory of the process tree reached {peak} KiB"
        term._pump(0.05)
        term.drain()
    print(f"a 1,000,000-character paste: sent in {took:.1f} s, peak RSS {peak} KiB")
    term.send("\x11")  # ctrl+q
    assert term.wait(timeout=10) == 1
    assert otp_home.audit_lines()[-1]["event"] == "cancelled"


def test_memory_running_out_in_the_input_thread_is_one_line_not_a_traceback(
    terminal: Callable[..., Terminal], otp_home: OtpHome, tmp_path: Path
) -> None:
    # Textual collects a bracketed paste whole before otp-tui sees it; under a memory ceiling
    # (the gate's is 512 MiB; 160 MiB here) ten megabytes of it run the input thread out of
    # memory. Textual's own answer to that is its panic screen, a whole traceback.
    program = (
        "import sys; from otp_tui.gate.memory_ceiling import limit_memory;"
        "limit_memory(160 * 1024 * 1024);"
        "from otp_tui.cli import console_main; sys.argv[0] = 'otp-tui'; console_main()"
    )
    term = terminal("--json", argv=(sys.executable, "-c", program), stdout_file=tmp_path / "stdout")
    to_code_screen(term)
    before = len(term.raw)
    with contextlib.suppress(OSError):  # the program may be gone before the paste is
        flood(
            term,
            10_000_000,
            limit=120,
            before=b"\x1b[200~",
            after=b"\x1b[201~",
            budget_kib=256 * 1024,  # the ceiling holds it below this
        )
    status = term.wait(timeout=60)
    shown = term.raw[before:].decode("utf-8", "replace")
    assert status == 1
    assert "otp-tui: unexpected error (MemoryError); not verified" in shown
    assert "Traceback" not in shown
    assert "paste_buffer" not in shown
    assert term.json_line()["verified"] is False
