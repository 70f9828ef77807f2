"""Signals, Ctrl+C, Ctrl+Z and a dropped terminal, against the real `otp-tui` in a real pty.

Each run gets as far as the code screen (a live code, an address in the audit trail) before
the signal arrives, because that is where ending early matters.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pty_harness import OTP_TUI, OtpHome, Terminal, process_alive, session_members

ADDRESS = "alice@example.com"
ALT_SCREEN_OFF = b"\x1b[?1049l"  # the last thing Textual does when it restores the terminal


def to_code_screen(term: Terminal, address: str = ADDRESS) -> None:
    term.expect("Verify your email address")
    term.type(address)
    term.send("\r")
    term.expect("Enter the code")


@pytest.mark.parametrize(
    ("deliver", "status", "reason"),
    [
        (signal.SIGHUP, 129, "hangup"),
        (signal.SIGTERM, 143, "terminated"),
        (signal.SIGINT, 130, "interrupted"),
        ("\x03", 130, "interrupted"),  # the Ctrl+C key: a key in raw mode, not a signal
    ],
    ids=["SIGHUP", "SIGTERM", "SIGINT", "ctrl+c key"],
)
def test_an_ending_signal_gives_its_status_an_audit_line_and_a_restored_terminal(
    terminal: Callable[..., Terminal],
    otp_home: OtpHome,
    tmp_path: Path,
    deliver: signal.Signals | str,
    status: int,
    reason: str,
) -> None:
    term = terminal("--json", stdout_file=tmp_path / "stdout")
    to_code_screen(term)
    before = term.raw
    if isinstance(deliver, str):
        term.send(deliver)
    else:
        os.kill(term.pid, deliver)

    assert term.wait(timeout=5) == status
    assert ALT_SCREEN_OFF in term.raw[len(before) :], "the terminal was not restored"
    assert term.json_line() == {
        "verified": False,
        "email": ADDRESS,
        "reason": reason,
        "sends": 1,
        "wrong_attempts": 0,
    }
    last = otp_home.audit_lines()[-1]
    assert (last["event"], last["reason"], last["address"], last["pid"]) == (
        "interrupted",
        reason,
        ADDRESS,
        term.pid,
    )
    assert session_members(term.pid) == []


def test_two_ending_signals_give_one_consistent_ending(
    terminal: Callable[..., Terminal], otp_home: OtpHome, tmp_path: Path
) -> None:
    # A dropped connection is often followed at once by a SIGTERM from whoever cleans up.
    # Which of the two the process sees first is up to the kernel and the threads; whichever
    # it is decides the status, the --json reason and the one audit line alike.
    term = terminal("--json", stdout_file=tmp_path / "stdout")
    to_code_screen(term)
    os.kill(term.pid, signal.SIGHUP)
    os.kill(term.pid, signal.SIGTERM)

    status = term.wait(timeout=5)
    reason = {129: "hangup", 143: "terminated"}[status]
    assert term.json_line()["reason"] == reason
    endings = [line for line in otp_home.audit_lines() if line["event"] == "interrupted"]
    assert [line["reason"] for line in endings] == [reason]


def test_a_dead_terminal_ends_the_run_at_once_with_an_audit_line(
    terminal: Callable[..., Terminal], otp_home: OtpHome
) -> None:
    # The connection drops: sshd closes its end of the terminal, the kernel hangs it up and
    # sends SIGHUP. The program must not stay behind spinning on a terminal nobody reads.
    term = terminal("--json")
    to_code_screen(term)
    term.close_terminal()
    with contextlib.suppress(ProcessLookupError):  # gone after the kernel's own SIGHUP: fine
        os.kill(term.pid, signal.SIGHUP)

    assert term.wait(timeout=5) == 129
    assert not process_alive(term.pid)
    assert session_members(term.pid) == []
    events = [(line["event"], line.get("reason")) for line in otp_home.audit_lines()]
    assert events[-1] == ("interrupted", "hangup")
    assert events.count(("interrupted", "hangup")) == 1


def test_a_terminal_that_dies_without_a_sighup_still_ends_the_run(
    terminal: Callable[..., Terminal], otp_home: OtpHome
) -> None:
    # Not the terminal's session (or a wrapper ignored SIGHUP and lived): no signal comes.
    # Left alone, Textual's input thread would spin on end-of-file at full CPU for ever.
    term = terminal(controlling=False)
    to_code_screen(term)
    term.close_terminal()

    assert term.wait(timeout=5) == 129
    assert otp_home.audit_lines()[-1]["reason"] == "hangup"


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.mark.parametrize(
    ("how", "allow_signals"),
    [("kill -TSTP", False), ("ctrl+z key", False), ("ctrl+z key", True)],
    ids=["kill -TSTP", "ctrl+z key", "ctrl+z key with TEXTUAL_ALLOW_SIGNALS"],
)
def test_ctrl_z_cannot_suspend_the_gate(
    terminal: Callable[..., Terminal],
    otp_home: OtpHome,
    how: str,
    allow_signals: bool,
) -> None:
    # Suspending is refused outright: the run carries on, and still ends only by its own rules.
    env = dict(otp_home.env)
    if allow_signals:  # Textual then leaves ISIG on: the key raises a real SIGTSTP
        env["TEXTUAL_ALLOW_SIGNALS"] = "1"
    term = terminal(env=env)
    term.expect("Verify your email address")
    if how == "kill -TSTP":
        os.kill(term.pid, signal.SIGTSTP)
    else:
        term.send("\x1a")
    # Still answering keys, so not stopped: the address goes through to the code screen.
    term.type(ADDRESS)
    term.send("\r")
    term.expect("Enter the code")
    assert _state(term.pid) != "T"
    term.type(otp_home.read_code())
    term.expect("Verified")
    term.send("\x11")  # ctrl+q: leaves the result at once
    assert term.wait() == 0


def test_without_a_terminal_one_line_and_exit_status_2(otp_home: OtpHome) -> None:
    # `ssh host otp-tui` without -t: stdin is a pipe. Refused before Textual starts.
    run = subprocess.run(
        [*OTP_TUI, "--demo", "--email", ADDRESS],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=otp_home.env,
        timeout=20,
        check=False,
    )
    assert run.returncode == 2
    assert run.stdout == b""
    lines = run.stderr.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith("otp-tui needs an interactive terminal; try ssh -t")
    assert otp_home.audit_lines() == []


def test_a_signal_on_the_verified_screen_is_not_a_success(
    terminal: Callable[..., Terminal], otp_home: OtpHome, tmp_path: Path
) -> None:
    # "Verified" is on screen but the user has not left it: a wrapper waiting on the exit
    # status must still not open the gate when the session is killed or dropped.
    term = terminal("--json", stdout_file=tmp_path / "stdout")
    to_code_screen(term)
    term.type(otp_home.read_code())
    term.expect("Verified")
    os.kill(term.pid, signal.SIGTERM)

    assert term.wait(timeout=5) == 143
    result = term.json_line()
    assert (result["verified"], result["reason"]) == (False, "terminated")
    # The trail does not end on "verified" for a run the caller was told had failed.
    last = otp_home.audit_lines()[-1]
    assert (last["event"], last["reason"]) == ("interrupted", "terminated")


# The real program, with its event loop made to hang for good once the code screen is up:
# one callback that never returns, so nothing queued on the loop (a handler added with
# `loop.add_signal_handler`, a key's binding) ever runs again.
_STUCK_LOOP = """
import os, sys, time
from otp_tui.tui.screens.code import CodeScreen

shown = CodeScreen.on_mount

def on_mount(self):
    shown(self)
    def hang():
        os.write(2, b"[the loop hangs now]")
        while True:
            time.sleep(0)  # Python code, for ever, without returning to the loop
    self.set_timer(0.5, hang)

CodeScreen.on_mount = on_mount
from otp_tui.cli import console_main
sys.argv[0] = "otp-tui"
console_main()
"""


@pytest.mark.parametrize(
    ("deliver", "status", "reason"),
    [
        (signal.SIGHUP, 129, "hangup"),
        (signal.SIGTERM, 143, "terminated"),
        ("\x03", 130, "interrupted"),  # the Ctrl+C key: the driver makes it SIGINT
    ],
    ids=["SIGHUP", "SIGTERM", "ctrl+c key"],
)
def test_an_ending_signal_ends_a_run_whose_loop_hangs_within_a_second(
    terminal: Callable[..., Terminal],
    otp_home: OtpHome,
    tmp_path: Path,
    deliver: signal.Signals | str,
    status: int,
    reason: str,
) -> None:
    term = terminal(
        "--json", argv=(sys.executable, "-c", _STUCK_LOOP), stdout_file=tmp_path / "stdout"
    )
    to_code_screen(term)
    term.expect(r"\[the loop hangs now\]")
    sent_at = time.monotonic()
    if isinstance(deliver, str):
        term.send(deliver)
    else:
        os.kill(term.pid, deliver)
    ended = term.wait(timeout=10)
    took = time.monotonic() - sent_at
    print(f"{reason} with the loop hung: ended in {took:.2f} s with status {ended}")
    assert ended == status
    assert took < 1.0
    # The exit was forced, and the --json line still came out, saying how the run ended.
    assert term.json_line()["reason"] == reason
    last = otp_home.audit_lines()[-1]
    assert (last["event"], last["reason"], last["address"]) == ("interrupted", reason, ADDRESS)
