"""otp-tui leaves the terminal to its owner: no mouse capture, and a size it cannot be fooled by.

A real program on a real pseudo-terminal: what it writes is what a terminal would obey.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from pty_harness import OtpHome, Terminal

from otp_tui.terminal.driver import MAX_LINES

# Any-event, button-event and normal mouse tracking, and SGR mouse coordinates.
MOUSE_ON = (b"\x1b[?1000h", b"\x1b[?1002h", b"\x1b[?1003h", b"\x1b[?1006h")
# The first screen takes about 55 MiB at 80x24 and 57 MiB at the largest size laid out;
# unclamped, a 10000x10000 start passed 200 MiB within a second and 1 GiB in seconds.
START_BUDGET_KIB = 100 * 1024
GROWTH_BUDGET_KIB = 30 * 1024


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


def drawn_down_to(term: Terminal, row: int, since: int | None = None, timeout: float = 20) -> None:
    """Wait until a frame written after `since` (a length of `term.raw`; default now) draws
    on line `row` (1-based): the size that makes it possible has been taken in and laid out."""
    move = re.compile(rb"\x1b\[%d;\d+H" % row)
    start = len(term.raw) if since is None else since
    deadline = time.monotonic() + timeout
    while not move.search(term.raw, start):
        assert time.monotonic() < deadline, f"nothing drawn on line {row} within {timeout} s"
        assert term._pump(0.1), "the program has gone"


def test_an_absurd_size_and_a_resize_storm_keep_memory_bounded(
    terminal: Callable[..., Terminal],
) -> None:
    term = terminal()
    term.expect("Verify your email address")
    before = term.tree_rss_kib()
    # Each size clamps to another than the one before, so each is drawn anew.
    for cols, rows in [(10000, 10000), (20000, 3), (65535, 65535), (3, 20000), (65535, 65535)]:
        term.resize(cols, rows)
        # The new size is laid out and drawn (as far down as the clamp allows) before memory is
        # looked at, and then for a while after.
        drawn_down_to(term, min(rows, MAX_LINES))
        term.peak_rss_kib(1.0, before + GROWTH_BUDGET_KIB)
        assert not term.exited()
    grown = term.tree_rss_kib() - before
    print(f"resize storm: RSS {before} KiB before, grown by {grown} KiB")
    assert grown < GROWTH_BUDGET_KIB, f"RSS grew by {grown} KiB"
    term.resize(80, 24)
    term.expect("Verify your email address")
    term.send("\x11")  # ctrl+q still answers
    assert term.wait(timeout=20) == 1


@pytest.mark.parametrize(
    ("size", "environment"),
    [((10000, 10000), {}), ((80, 24), {"COLUMNS": "100000", "LINES": "100000"})],
    ids=["10000x10000 pty", "COLUMNS and LINES 100000"],
)
def test_started_in_a_huge_terminal_memory_stays_bounded_and_ctrl_q_answers(
    terminal: Callable[..., Terminal],
    otp_home: OtpHome,
    size: tuple[int, int],
    environment: dict[str, str],
) -> None:
    term = terminal(size=size, env={**otp_home.env, **environment})
    peak = term.peak_rss_kib(6.0, START_BUDGET_KIB)
    term.expect("Verify your email address", timeout=20)
    print(f"started at {size} {environment}: peak RSS of the process tree {peak} KiB over 6 s")
    term.send("\x11")  # ctrl+q
    assert term.wait(timeout=10) == 1


def test_an_in_band_size_report_cannot_make_the_layout_huge(
    terminal: Callable[..., Terminal],
) -> None:
    term = terminal()
    term.expect("Verify your email address")
    before = term.tree_rss_kib()
    # The terminal answers the driver's query: in-band size reports supported (mode 2048 set
    # to "reset"), so the driver turns them on and from then on trusts them over SIGWINCH;
    # then it reports 30000 rows by 30000 columns.
    since = len(term.raw)
    term.send("\x1b[?2048;2$y")
    term.send("\x1b[48;30000;30000;0;0t")
    peak = term.peak_rss_kib(4.0, before + GROWTH_BUDGET_KIB)
    drawn_down_to(term, MAX_LINES, since)
    print(f"in-band 30000x30000: RSS {before} KiB before, peak {peak} KiB over 4 s")
    term.send("\x1b[48;24;80;0;0t")
    term.expect("Verify your email address")
    term.send("\x11")  # ctrl+q
    assert term.wait(timeout=10) == 1


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
