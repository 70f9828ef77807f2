"""otp-tui leaves the terminal to its owner: no mouse capture, and a size it cannot be fooled by.

A real program on a real pseudo-terminal: what it writes is what a terminal would obey.
"""

from __future__ import annotations

from collections.abc import Callable

from pty_harness import Terminal

# Any-event, button-event and normal mouse tracking, and SGR mouse coordinates.
MOUSE_ON = (b"\x1b[?1000h", b"\x1b[?1002h", b"\x1b[?1003h", b"\x1b[?1006h")


def test_no_mouse_reporting_so_the_terminal_can_still_select_text(
    terminal: Callable[..., Terminal],
) -> None:
    term = terminal()
    term.expect("Verify your email address")
    term.type("someone@example.com")
    term.expect("someone@example.com")
    for sequence in MOUSE_ON:
        assert sequence not in term.raw, f"mouse reporting turned on: {sequence!r}"
    term.send("\x11")  # ctrl+q
    assert term.wait() == 1


def test_an_absurd_size_and_a_resize_storm_keep_memory_bounded(
    terminal: Callable[..., Terminal],
) -> None:
    term = terminal()
    term.expect("Verify your email address")
    before = term.rss_kib()
    for cols, rows in [(10000, 10000), (65535, 65535), (20000, 3), (3, 20000), (65535, 65535)]:
        term.resize(cols, rows)
        # Something is drawn again at the clamped size (the screen, or, too narrow or too low,
        # the line saying so, wrapped to the width), and the program is still there.
        term.expect(r"\S", timeout=20)
        assert not term.exited()
    # The layout is clamped (500x250 at most), so memory stays near what it was.
    grown = term.rss_kib() - before
    assert grown < 100 * 1024, f"RSS grew by {grown} KiB"
    term.resize(80, 24)
    term.expect("Verify your email address")
    term.send("\x11")  # ctrl+q still answers
    assert term.wait(timeout=20) == 1


def test_no_library_log_line_reaches_the_screen(
    terminal: Callable[..., Terminal],
) -> None:
    # The demo outbox's aiosmtpd server logs warnings about its own settings; printed, they
    # would land on the screen (plain mode shows it most plainly).
    term = terminal("--plain")
    term.expect("Email address:")
    term.type("quiet@example.com\r")
    term.expect("Code: ")
    term.type("o\r")
    term.expect("end of message")
    for noise in ("auth_required", "deprecated", "WARNING", "Traceback"):
        assert noise not in term.text
    term.send("\x04")  # Ctrl+D
    assert term.wait() == 1
