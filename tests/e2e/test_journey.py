"""Whole runs of the real `otp-tui` in a pseudo-terminal, by keys alone, in demo mode.

The code is read out of the demo outbox's Maildir, as a user reads their mail; limits come from
the SQLite ledger in the temporary state directory, so a second run sees what the first left.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from pty_harness import OTP_TUI, OtpHome, Terminal

ADDRESS = "bob@example.com"


def wrong_code(code: str) -> str:
    """A code of the same length that is certainly not `code`."""
    return "".join(str((int(digit) + 1) % 10) for digit in code)


def test_demo_journey_by_keys_exits_0_with_a_verified_json_line(
    terminal: Callable[..., Terminal], otp_home: OtpHome, tmp_path: Path
) -> None:
    term = terminal("--json", stdout_file=tmp_path / "result.json")
    term.expect("Demo mode")
    term.expect("Verify your email address")
    term.type(ADDRESS)
    term.send("\r")
    term.expect("Enter the code")
    term.type(otp_home.read_code())  # the entry submits itself once complete
    term.expect("Verified")
    term.send("\x11")  # ctrl+q: leaves the result at once

    assert term.wait() == 0
    assert term.json_line() == {
        "verified": True,
        "email": ADDRESS,
        "reason": "verified",
        "sends": 1,
        "wrong_attempts": 0,
    }
    events = [line["event"] for line in otp_home.audit_lines()]
    assert events == ["send_requested", "sent", "verified"]
    assert "otp-tui: Verified" not in term.text  # --json owns the result: no line left behind


def test_a_full_screen_run_leaves_one_line_with_its_result(
    terminal: Callable[..., Terminal], otp_home: OtpHome
) -> None:
    term = terminal()
    term.expect("Verify your email address")
    term.type(ADDRESS)
    term.send("\r")
    term.expect("Enter the code")
    term.type(otp_home.read_code())
    term.expect("Verified")
    term.send("\x11")
    assert term.wait() == 0
    # After the screen was put back: the line is what stays in the shell.
    assert term.text.rstrip().endswith(f"otp-tui: Verified ({ADDRESS})")

    quitter = terminal("--demo", "--email", ADDRESS)
    quitter.expect("Enter the code")
    quitter.send("\x11")
    assert quitter.wait() == 1
    assert quitter.text.rstrip().endswith("otp-tui: Not verified (b***@example.com)")


def test_a_lockout_survives_starting_otp_tui_again(
    terminal: Callable[..., Terminal], otp_home: OtpHome, tmp_path: Path
) -> None:
    limits = ("--set", "policy.max_attempts=2", "--set", "policy.lockout=900")

    first = terminal(*limits, "--json", stdout_file=tmp_path / "first.json")
    first.expect("Verify your email address")
    first.type(ADDRESS)
    first.send("\r")
    first.expect("Enter the code")
    wrong = wrong_code(otp_home.read_code())
    first.type(wrong)
    first.expect("Wrong code: 1 attempt left")
    first.type(wrong)
    first.expect("Locked")
    first.send("\x11")  # ctrl+q: leaves the result at once
    assert first.wait() == 1
    assert first.json_line()["reason"] == "locked"

    # A new process, the same state directory: the lock is in the ledger, not in memory.
    second = terminal(
        *limits, "--demo", "--email", ADDRESS, "--json", stdout_file=tmp_path / "second.json"
    )
    second.expect("Locked")
    second.send("\x11")  # ctrl+q: leaves the result at once
    assert second.wait() == 1
    result = second.json_line()
    assert (result["verified"], result["reason"], result["sends"]) == (False, "locked", 0)

    # And by typing the address, as a person who hopes the lock went with the process would.
    third = terminal(*limits)
    third.expect("Verify your email address")
    third.type(ADDRESS)
    third.send("\r")
    third.expect("This address is locked until")
    assert len(list((otp_home.state / "outbox" / "new").iterdir())) == 1  # no second mail
    status = subprocess.run(
        [*OTP_TUI, *limits, "status", ADDRESS],
        capture_output=True,
        text=True,
        env=otp_home.env,
        timeout=20,
        check=True,
    )
    assert "locked" in status.stdout.lower()
    third.send("\x11")  # ctrl+q: give up
    assert third.wait() == 1


def test_with_stdout_redirected_the_screen_fits_a_small_terminal(
    terminal: Callable[..., Terminal], tmp_path: Path
) -> None:
    # `otp-tui --json > result.json` leaves stdout a file; the screen must still be drawn for
    # the terminal on stderr (60x15 here), not for a guessed 80x24 that scrolls off the top.
    term = terminal("--json", size=(60, 15), stdout_file=tmp_path / "stdout")
    term.expect("Verify your email address")
    term.expect(r"ctrl\+q Quit")
    drawn = term.raw.decode("utf-8", "replace")
    rows = [int(row) for row in re.findall(r"\x1b\[(\d+);\d+H", drawn)]
    assert rows
    assert max(rows) <= 15, f"drew on row {max(rows)} of a 15-row terminal"
    term.send("\x11")  # ctrl+q
    assert term.wait() == 1
