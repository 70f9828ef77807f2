"""Only what changed goes to the terminal, and the terminal shows what Textual drew.

The frames here are written the way Textual writes them (a cursor move to each line, SGR before
each run of text and a reset after it); `vt_screen.Screen`, a reader written apart from the code
under test, says what a terminal shows after the raw frames and after the diffed ones, and the
two must always be the same (`tests/e2e/test_screen_diff_pty.py` does it with the real program in
a real pty).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from vt_screen import Screen

from otp_tui.terminal.screen_diff import SYNC_END, SYNC_START, ScreenDiff

COLS, ROWS = 40, 8
DARK = "48;2;18;18;18"
BOLD = "1;38;2;224;224;224;48;2;36;47;56"


def line(row: int, col: int, *runs: tuple[str, str]) -> str:
    """One line as Textual writes it: a cursor move, then each run styled and reset."""
    out = f"\x1b[{row + 1};{col + 1}H"
    for style, text in runs:
        out += (f"\x1b[{style}m" if style else "") + text + "\x1b[0m"
    return out


def cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def padded(text: str) -> str:
    """Text filling a line, as Textual pads it: by cells, not characters."""
    return text + " " * (COLS - cells(text))


def full_frame(title: str, body: str = "") -> str:
    rows = [line(0, 0, (BOLD, padded(title)))]
    rows += [line(row, 0, (DARK, padded(body if row == 2 else ""))) for row in range(1, ROWS)]
    return "\n".join(rows) + "\x1b[3;5H"


def screens(frames: Sequence[str]) -> tuple[Screen, Screen, list[str]]:
    raw, diffed, diff = Screen(COLS, ROWS), Screen(COLS, ROWS), ScreenDiff()
    sent = []
    for frame in frames:
        raw.feed(frame.encode())
        out = diff.write(frame)
        sent.append(out)
        diffed.feed(out.encode())
        assert diffed.snapshot() == raw.snapshot()
        # What it takes the terminal to show is what it shows: a cell it is wrong about
        # goes out wrong, or is left out, in some later frame.
        believed = {(row, col): cell[0] for (row, col), cell in diff._shown.items()}
        assert all(row < ROWS and col < COLS for row, col in believed)
        assert believed == {place: raw.grid[place[0]][place[1]][0] for place in believed}
    return raw, diffed, sent


def test_a_frame_drawn_again_sends_nothing() -> None:
    frame = full_frame("otp-tui", "Verify your email address")
    _, _, sent = screens([frame, frame, frame])
    assert len(sent[0]) < len(frame)  # styles only where they change
    assert sent[1:] == ["", ""]


def test_a_changed_piece_of_text_goes_out_whole_and_nothing_else() -> None:
    before = full_frame("otp-tui", "Code expires in 9:41") + line(2, 30, (BOLD, "Resend"))
    after = full_frame("otp-tui", "Code expires in 9:40") + line(2, 30, (BOLD, "Resend"))
    _, diffed, sent = screens([before, after])
    assert "Code expires in 9:40" in diffed.line(2)
    # The line's one run of text goes out again, around the "Resend" drawn over it, which
    # is unchanged, as are the title and the other lines.
    body = "Code expires in 9:40".ljust(30)
    assert sent[1] == f"\x1b[3;1H\x1b[0;{DARK}m{body}\x1b[6C    \x1b[0m\x1b[3;37H"


def test_the_cursor_is_left_where_textual_leaves_it() -> None:
    frame = full_frame("otp-tui")
    moved = frame.replace("\x1b[3;5H", "\x1b[7;9H")
    _, diffed, sent = screens([frame, moved])
    assert sent[1] == "\x1b[7;9H"
    assert (diffed.row, diffed.col) == (6, 8)


def test_an_empty_frame_between_sync_markers_sends_nothing_at_all() -> None:
    diff = ScreenDiff()
    frame = full_frame("otp-tui")
    assert diff.write(SYNC_START) == ""
    assert diff.write(frame).startswith(SYNC_START)
    assert diff.write(SYNC_END) == SYNC_END
    assert [diff.write(SYNC_START), diff.write(frame), diff.write(SYNC_END)] == ["", "", ""]


def test_what_it_does_not_follow_goes_out_as_written_and_the_next_frame_whole() -> None:
    frame = full_frame("otp-tui", "Verify")
    clear = "\x1b[2J"
    _, _, sent = screens([frame, clear, frame])
    assert sent[1] == clear
    assert sent[2] == ScreenDiff().write(frame)  # as if to a terminal never written to


def test_after_forget_the_next_frame_goes_out_whole() -> None:
    diff = ScreenDiff()
    frame = full_frame("otp-tui")
    first = diff.write(frame)
    diff.forget()  # e.g. the terminal was resized
    assert diff.write(frame) == first


def test_modes_and_osc_strings_pass_through_and_keep_the_screen_known() -> None:
    diff = ScreenDiff()
    frame = full_frame("otp-tui")
    diff.write(frame)
    assert diff.write("\x1b]22;pointer\x07") == "\x1b]22;pointer\x07"
    assert diff.write("\x1b[?1000h") == "\x1b[?1000h"
    assert diff.write(frame) == ""


def test_wide_characters_are_never_cut_in_half() -> None:
    frames = [
        full_frame("otp-tui", "日本語 text"),
        full_frame("otp-tui", "日本人 text"),  # the third wide character changes
        full_frame("otp-tui", "a日本人 text"),  # every wide character moves by one cell
        full_frame("otp-tui", "abc"),
        line(2, 1, ("", "日")) + line(2, 2, ("", "本")) + "\x1b[1;1H",  # over its own half
        line(2, 0, ("", "a日")) + line(2, 1, ("", "b")) + "\x1b[1;1H",
    ]
    screens(frames)


def test_combining_marks_are_left_to_the_terminal() -> None:
    frame = full_frame("otp-tui", "cafe\u0301")
    _, _, sent = screens([full_frame("otp-tui"), frame])
    assert sent[1] == frame  # written as given: the terminal decides what width it has


def at(col: int, text: str, row: int = 0) -> str:
    """Plain text at a place on the title row, the cursor then parked at the top left."""
    return line(row, col, ("", text)) + "\x1b[1;1H"


@pytest.mark.parametrize(
    "frames",
    [
        # The left half of the second of two wide characters, then the right half of the first.
        [at(7, "日日"), at(9, "a"), at(8, "a")],
        # The right half of the first, then the left half of the second.
        [at(7, "日日"), at(8, "a"), at(9, "a")],
        # Each half alone, then the wide characters drawn again where they were.
        [at(7, "日日"), at(9, "a"), at(7, "日日")],
        [at(7, "日日"), at(8, "a"), at(7, "日日")],
        # At the line's end: the last two cells of the row.
        [at(36, "日本"), at(38, "a"), at(37, "b"), at(36, "日本")],
        [at(36, "日本"), at(37, "a"), at(38, "b"), at(36, "日本")],
        # Next to a changed cell: in the same frame, and a half cut before its neighbour is.
        [at(6, "x日日"), line(0, 5, ("", "ab")) + line(0, 9, ("", "c")), at(6, "x日日")],
        [at(6, "日日x"), at(8, "a"), line(0, 5, ("", "z")) + line(0, 7, (BOLD, "c"))],
        # A wide character drawn over the halves of two others.
        [at(7, "日日"), at(8, "本"), at(7, "a"), at(10, "b"), at(7, "日日")],
    ],
)
def test_a_wide_character_cut_in_half_on_either_side_leaves_the_same_screen(
    frames: list[str],
) -> None:
    """The other half of a wide character cut in half is blanked by the terminal, and only
    that half: the cell beyond it may be half of another wide character, still shown whole."""
    screens([full_frame("otp-tui"), *frames])


_TEXT = st.text(alphabet="ab -▔日本", min_size=1, max_size=6)
_STYLE = st.sampled_from(["", DARK, BOLD, "7;38;2;1;120;212;48;2;18;18;18", "1", "2;3"])
_RUN = st.tuples(_STYLE, _TEXT)


@st.composite
def frames(draw: st.DrawFn) -> str:
    """A partial frame: a few cursor moves, each followed by a few styled runs, crowded into
    two rows so that runs overlap, cut wide characters in half and leave gaps, some of them
    ending in the row's last cell. Never past it, as Textual never writes past it (what a
    terminal does there, wrap or not, is its own)."""
    out: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        row = draw(st.integers(0, 1))
        runs = draw(st.lists(_RUN, min_size=1, max_size=3))
        width = sum(cells(text) for _, text in runs)  # at most 3 x 6 x 2: within the row
        col = draw(st.integers(0, min(16, COLS - width)) | st.just(COLS - width))
        out.append(line(row, col, *runs))
    row = draw(st.integers(0, ROWS - 1))
    return "".join(out) + f"\x1b[{row + 1};1H"


@settings(max_examples=1000, deadline=None)
@given(st.lists(frames(), min_size=1, max_size=8))
# Found by hypothesis: the second wide character's left half overwritten, then the first's right.
@example(["\x1b[1;1Ha\x1b[1;1H", at(7, "日日"), at(9, "a"), at(3, "a") + at(8, "a")])
def test_any_frames_show_the_same_screen_raw_or_diffed(sequence: list[str]) -> None:
    screens([full_frame("otp-tui"), *sequence])
