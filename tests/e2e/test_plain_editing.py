"""Editing the answer in `otp-tui --plain`, in a real pseudo-terminal, as a person types it.

The keys are the bytes a terminal sends (Left is ESC [ D); what the program writes back is
read by the tests' own small terminal (`vt_screen`), so the test sees the line a person sees.
The terminal's own mode is read back from the pty: echo and line editing are the program's
while it reads, and the terminal's again once it has gone.
"""

from __future__ import annotations

import os
import signal
import sys
import termios
import time
from collections.abc import Callable

import pytest
from pty_harness import OtpHome, Terminal
from test_key_flood import flood
from vt_screen import Screen

ADDRESS = "bob@example.com"
LEFT, UP, DOWN, HOME = "\x1b[D", "\x1b[A", "\x1b[B", "\x1b[H"
# The plain mode takes about 45 MiB; a pasted megabyte may add little, never itself.
PASTE_ALLOWANCE_KIB = 16 * 1024


def echo_and_lines(term: Terminal) -> int:
    """The terminal's ECHO and ICANON flags now (the pty's master reads the terminal's mode)."""
    assert term.master is not None
    return termios.tcgetattr(term.master)[3] & (termios.ECHO | termios.ICANON)


def screen_lines(term: Terminal, cols: int = 80) -> list[str]:
    screen = Screen(cols=cols, rows=400)  # tall: this screen does not scroll
    screen.feed(term.raw)
    return [screen.line(row).rstrip() for row in range(screen.row + 1)]


def last_line(term: Terminal) -> str:
    return screen_lines(term)[-1]


def test_left_then_typing_inserts_in_the_middle_and_the_answer_has_no_escape_bytes(
    terminal: Callable[..., Terminal], otp_home: OtpHome
) -> None:
    term = terminal("--plain")
    term.expect("Email address: ")
    assert echo_and_lines(term) == 0, "the terminal still echoes and edits the line itself"
    term.type("bob@exmple.com")
    for key in [LEFT] * 8 + [UP, DOWN]:  # Up and Down recall nothing and insert nothing
        term.send(key)
    term.type("a")
    term.expect("ample.com")  # the rest of the line written again after the inserted a
    term.drain()
    assert last_line(term) == f"Email address: {ADDRESS}"
    term.send(HOME + "\x0b")  # Home, then ctrl+K: the line is empty again
    term.type("alice@gmial.com\x17" + ADDRESS + "\r")  # ctrl+W takes the word back

    term.expect(f"Sending a code to {ADDRESS} via the demo outbox")
    term.expect("Code: ")
    lines = screen_lines(term)
    answered = lines.index(f"Sending a code to {ADDRESS} via the demo outbox…") - 1
    assert lines[answered] == f"Email address: {ADDRESS}", "the answer did not stay on screen"
    term.type(otp_home.read_code() + "\r")
    term.expect(f"Verified. {ADDRESS} is confirmed")
    assert term.wait() == 0
    assert echo_and_lines(term) == termios.ECHO | termios.ICANON, "the mode was not restored"


# Ctrl+D ends the input on an empty line only (on a typed one it deletes, as in a shell).
@pytest.mark.parametrize("ending", ["\x03", "\x15\x04"], ids=["ctrl+c", "ctrl+u ctrl+d"])
def test_the_terminal_mode_comes_back_however_the_run_ends(
    terminal: Callable[..., Terminal], ending: str
) -> None:
    term = terminal("--plain")
    term.expect("Email address: ")
    term.type("half typed")
    term.send(ending)
    assert term.wait() in (1, 130)
    assert echo_and_lines(term) == termios.ECHO | termios.ICANON


def test_a_pasted_megabyte_stays_bounded_and_the_prompt_answers_after_it(
    terminal: Callable[..., Terminal],
) -> None:
    term = terminal("--plain")
    term.expect("Email address: ")
    before = term.tree_rss_kib()
    took, peak = flood(term, 1_000_000, limit=60, budget_kib=before + PASTE_ALLOWANCE_KIB)
    print(f"a 1,000,000-byte paste read in {took:.1f} s; RSS {before} KiB before, peak {peak}")
    term.send("\r")  # a thousand digits are no address: asked again
    term.expect("Email address: ")
    term.drain()
    assert len(term.raw) < 64 * 1024, "the paste was echoed whole"
    term.type(ADDRESS + "\r")
    term.expect(f"Sending a code to {ADDRESS}")
    term.expect("Code: ")
    term.send("\x04")
    assert term.wait() == 1


# The real program, its loop made to hang for good at the code prompt: only the exit deadline
# can end it, and it must put the terminal's mode back before it does.
_STUCK_LOOP = """
import asyncio, os, sys, time
from otp_tui.plain.line_mode import LineMode

asked = LineMode._ask

def ask(self, prompt):
    asked(self, prompt)
    if prompt.startswith("Code"):
        def hang():
            os.write(2, b"[the loop hangs now]")
            while True:
                time.sleep(0)
        asyncio.get_running_loop().call_later(0.2, hang)

LineMode._ask = ask
from otp_tui.cli import console_main
sys.argv[0] = "otp-tui"
console_main()
"""


def test_an_exit_the_deadline_forces_restores_the_terminal_mode(
    terminal: Callable[..., Terminal],
) -> None:
    term = terminal("--plain", argv=(sys.executable, "-c", _STUCK_LOOP))
    term.expect("Email address: ")
    term.type(ADDRESS + "\r")
    term.expect(r"\[the loop hangs now\]")
    assert echo_and_lines(term) == 0
    term.send("\x03")  # Ctrl+C: SIGINT, whose handler arms the deadline
    assert term.wait() == 130
    assert echo_and_lines(term) == termios.ECHO | termios.ICANON


def test_sigterm_during_a_paste_ends_the_run_within_a_second(
    terminal: Callable[..., Terminal], otp_home: OtpHome
) -> None:
    term = terminal("--plain")
    term.expect("Email address: ")
    before = term.tree_rss_kib()
    flood(term, 1_000_000, limit=60, stop_after=0.3, budget_kib=before + PASTE_ALLOWANCE_KIB)
    sent_at = time.monotonic()
    os.kill(term.pid, signal.SIGTERM)
    status = term.wait()
    took = time.monotonic() - sent_at
    print(f"SIGTERM during a paste: ended in {took:.2f} s")
    assert status == 143
    assert took < 1.0
    assert echo_and_lines(term) == termios.ECHO | termios.ICANON
    assert otp_home.audit_lines()[-1]["reason"] == "terminated"


def test_a_terminal_made_narrower_gets_the_line_again_below_at_its_new_width(
    terminal: Callable[..., Terminal],
) -> None:
    term = terminal("--plain")
    term.expect("Email address: ")
    line = "a-rather-long-local-part-for-a-test@sub.example.com"
    term.type(line)
    term.expect("sub.example.com")
    term.drain()
    assert last_line(term) == f"Email address: {line}"
    term.resize(40, 24)  # the kernel sends SIGWINCH
    term.expect("Email address: ")  # drawn again, below
    term.drain()
    shown = screen_lines(term, cols=40)[-1]
    assert shown.startswith("Email address: ")
    assert len(shown) <= 39  # never the last column
    assert line.endswith(shown[len("Email address: ") :])  # the end of the line, at the cursor
    term.send("\r")
    term.expect(f"Sending a code to {line}")
    term.expect("Code: ")
    term.send("\x04")
    assert term.wait() == 1
