"""The real program's screens are the same whether its frames go out diffed or as Textual wrote
them (`otp_tui.terminal.screen_diff`; the frame-level tests are in `tests/terminal/`)."""

from __future__ import annotations

import time

from pty_harness import OTP_TUI, OtpHome, Terminal
from vt_screen import Screen


def settle(term: Terminal, quiet: float = 0.5, limit: float = 10.0) -> None:
    """Read until the program has written nothing for `quiet` seconds (at most `limit`)."""
    deadline = time.monotonic() + limit
    size, last = len(term.raw), time.monotonic()
    while time.monotonic() < deadline:
        term._pump(0.1)
        if len(term.raw) != size:
            size, last = len(term.raw), time.monotonic()
        elif time.monotonic() - last >= quiet:
            return
    raise AssertionError(f"still drawing after {limit} s")


def test_the_real_program_shows_the_same_screens_raw_or_diffed(otp_home: OtpHome) -> None:
    """otp-tui in two real ptys, one writing Textual's frames as they are: the same screens."""
    raw_driver = (
        "import sys; from textual.drivers.linux_driver import LinuxDriver;"
        "from otp_tui.terminal.driver import StderrSizedDriver as D; D.write = LinuxDriver.write;"
        "from otp_tui.cli import console_main; sys.argv[0] = 'otp-tui'; console_main()"
    )
    runs = {
        "diffed": Terminal([*OTP_TUI, "--demo"], otp_home.env),
        "raw": Terminal([OTP_TUI[0], "-c", raw_driver, "--demo"], otp_home.env),
    }
    try:
        shown = {}
        for name, term in runs.items():
            term.expect("Verify your email address")
            term.type("bob@exampel")
            term.expect("bob@exampel")
            for _ in range(2):  # Backspace, each drawn before the next key
                term.send("\x7f")
                settle(term)
            term.type("le.com")
            term.expect("example.com")
            term.send("\x1b[3~")  # Delete at the end: nothing changes
            term.send("\x01")  # Home: the cursor moves to the start
            term.send("\r")
            term.expect("Enter the code")
            term.type("12")
            term.send("\x1b[27u")  # Escape (kitty keyboard protocol): back to the address
            term.expect("Verify your email address")
            term.send("\x05")  # End
            settle(term)
            screen = Screen(80, 24)
            screen.feed(term.raw)
            shown[name] = screen
        assert shown["diffed"].snapshot() == shown["raw"].snapshot()
        assert "bob@example.com" in shown["diffed"].text
        assert len(runs["diffed"].raw) < len(runs["raw"].raw) / 2
    finally:
        for term in runs.values():
            term.kill()
