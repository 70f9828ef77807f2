"""The plain mode's line editing: what each key does to the line, and what reaches the screen.

The keys are fed as a terminal sends them (escape sequences included, cut anywhere); what the
display writes is read by the test's own small terminal (`vt_screen`), which shows what a
person would see: the prompt, the line, and the cursor where the next key will act.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from vt_screen import Screen

from otp_tui.plain.line_display import LineDisplay
from otp_tui.plain.line_editor import LINE_LIMIT, EndOfInput, Entered, LineEditor

LEFT, RIGHT, UP, DOWN = "\x1b[D", "\x1b[C", "\x1b[A", "\x1b[B"
HOME, END, DELETE = "\x1b[H", "\x1b[F", "\x1b[3~"
BACKSPACE = "\x7f"


def typed(*keys: str) -> LineEditor:
    editor = LineEditor()
    for key in keys:
        event, rest = editor.feed(key)
        assert (event, rest) == (None, "")
    return editor


def entered(*keys: str) -> str:
    editor = typed(*keys)
    event, rest = editor.feed("\r")
    assert isinstance(event, Entered)
    assert rest == ""
    return event.line


def test_left_then_typing_inserts_in_the_middle_and_no_escape_byte_reaches_the_answer() -> None:
    line = entered("bob@exmple.com", *[LEFT] * 8, "a")
    assert line == "bob@example.com"


def test_the_keys_a_shell_has() -> None:
    assert entered("world", HOME, "hello ") == "hello world"
    assert entered("world", "\x01", "hello ", "\x05", "!") == "hello world!"  # ctrl+A, ctrl+E
    assert entered("abc", "\x1b[1~", "\x1b[4~", "d") == "abcd"  # Home/End as VT220 keys
    assert entered("abc", "\x1bOH", "x", "\x1bOF", "y") == "xabcy"  # application mode
    assert entered("abcd", LEFT, LEFT, BACKSPACE) == "acd"
    assert entered("abcd", LEFT, LEFT, DELETE) == "abd"
    assert entered("abcd", "\x02", "\x02", "\x06", "\x08") == "abd"  # ctrl+B, ctrl+F, ctrl+H
    assert entered("abcd", LEFT, LEFT, "\x0b") == "ab"  # ctrl+K
    assert entered("abcd", LEFT, "\x15") == "d"  # ctrl+U
    assert entered("alice gmial.com", "\x17", "gmail.com") == "alice gmail.com"  # ctrl+W
    assert entered("alice@gmial.com", "\x1b\x7f", "org") == "alice@gmial.org"  # alt+Backspace
    assert entered("one two", "\x1bb", "\x1bb", "\x1bd", "1") == "1 two"  # alt+B, alt+D
    assert entered("one two", HOME, "\x1bf", "!") == "one! two"  # alt+F
    assert entered("one two", "\x1b[1;5D", "_") == "one _two"  # ctrl+Left
    assert entered("ab", LEFT, LEFT, LEFT, RIGHT, RIGHT, RIGHT, "c") == "abc"  # stops at ends


def test_up_down_and_other_keys_insert_nothing() -> None:
    keys = [UP, DOWN, "\x1bOA", "\x1b[5~", "\x1b[15~", "\t", "\x0c", "\x00", "\x1b[2~"]
    assert entered("12", *keys, "34") == "1234"
    assert entered("\u202e12\u200b3") == "123"  # format characters are never taken in


def test_a_sequence_cut_between_two_reads_is_still_one_key() -> None:
    assert entered("ab", "\x1b", "[", "D", "X") == "aXb"
    assert entered("ab", "\x1b[", "1;5", "D", "X") == "Xab"


def test_a_lone_escape_is_nothing_and_the_key_after_it_counts() -> None:
    # Escape pressed by habit (it goes back in the full-screen app) must not eat a digit.
    assert entered("12", "\x1b", "3") == "123"
    assert entered("12", "\x1b", "\x1b", "3") == "123"


def test_a_control_inside_a_sequence_ends_it_and_counts() -> None:
    editor = LineEditor()
    assert editor.feed("ab\x1bO\r") == (Entered("ab"), "")
    assert LineEditor().feed("ab\x1b[1;\r") == (Entered("ab"), "")


def test_an_overlong_sequence_is_read_to_its_end_and_ignored() -> None:
    assert entered("a", "\x1b[" + "1;" * 5000 + "D", "b") == "ab"


def test_ctrl_d_deletes_under_the_cursor_and_ends_the_input_only_on_an_empty_line() -> None:
    editor = typed("ab", LEFT)
    assert editor.feed("\x04") == (None, "")
    assert editor.text == "a"
    editor = typed("x", BACKSPACE)
    assert editor.feed("\x04") == (EndOfInput(), "")


def test_a_line_ends_at_enter_and_the_rest_waits() -> None:
    editor = LineEditor()
    assert editor.feed("one\r\ntwo\r\n") == (Entered("one"), "\ntwo\r\n")
    assert editor.feed("\ntwo\r\n") == (Entered("two"), "\n")  # CR LF (a paste): one Enter
    assert editor.feed("\n") == (None, "")
    assert editor.feed("\nthree\n") == (Entered(""), "three\n")  # LF alone: an empty line
    assert editor.feed("\r") == (Entered(""), "")


def test_combining_marks_belong_to_their_letter() -> None:
    editor = typed("Jose\u0301", LEFT, "x")
    assert editor.text == "Josxe\u0301"
    assert entered("e\u0301", BACKSPACE) == ""
    assert entered("\u0301a") == "a"  # a mark with nothing before it


def test_the_line_is_bounded() -> None:
    editor = LineEditor()
    for _ in range(256):  # a megabyte pasted, in reads of 4 KiB
        assert editor.feed("7" * 4096) == (None, "")
    assert len(editor.text) == LINE_LIMIT
    event, _ = editor.feed(HOME + "x\r")
    assert isinstance(event, Entered)
    assert event.line == "7" * LINE_LIMIT  # full: the x was dropped


# -- what reaches the screen -----------------------------------------------------------------

PROMPT = "Code: "


def drawn(keys: list[str], columns: int) -> tuple[Screen, LineEditor, list[str]]:
    editor, display = LineEditor(), LineDisplay()
    screen = Screen(cols=columns, rows=2)
    writes = [display.ask(PROMPT, [], 0, columns)]
    for key in keys:
        assert editor.feed(key) == (None, "")
        writes.append(display.update(editor.clusters, editor.cursor, columns))
    for write in writes:
        screen.feed(write.encode())
    return screen, editor, writes


def test_typing_at_the_end_writes_only_what_was_typed_as_an_echo_would() -> None:
    _, _, writes = drawn(["a", "b", BACKSPACE, LEFT, RIGHT], 80)
    assert writes == [PROMPT, "a", "b", "\b \b", "\b", "a"]


def test_an_insert_in_the_middle_rewrites_the_rest_and_puts_the_cursor_back() -> None:
    screen, _, writes = drawn(["bob@exmple.com", *[LEFT] * 8, "a"], 80)
    assert writes[-1] == "ample.com" + "\b" * 8
    assert screen.line(0).rstrip() == "Code: bob@example.com"
    assert screen.col == len("Code: bob@exa")


KEYS = ["a", "b", "7", "@", ".", "漢", LEFT, RIGHT, HOME, END, BACKSPACE, DELETE, UP, "\x0b"]
KEYS += ["\x15", "\x17", "\x1bb", "\x1bf", "\x1bd", "\x1b\x7f", "\x01", "\x05", "\x04"]


@settings(max_examples=300, deadline=None)
@given(keys=st.lists(st.sampled_from(KEYS), max_size=80), columns=st.integers(20, 60))
def test_the_screen_always_shows_the_line_around_the_cursor(keys: list[str], columns: int) -> None:
    keys = [key for key in keys if key != "\x04"] + (["\x04"] if "\x04" in keys else [])
    if keys and keys[-1] == "\x04" and not typed(*keys[:-1]).clusters:
        keys.pop()  # ctrl+D on an empty line ends the input: nothing left to draw
    screen, editor, writes = drawn(keys, columns)
    assert not any("\x1b" in write for write in writes), "an escape sequence was written"
    clusters, cursor = editor.clusters, editor.cursor
    cells = [2 if cluster == "漢" else 1 for cluster in clusters]
    shown = screen.line(0)[len(PROMPT) :].rstrip()
    assert screen.line(0).startswith(PROMPT)
    assert screen.col <= columns - 2  # the cursor never reaches the last column
    # Some window of the line is on screen, and the cursor is at its place in that window.
    starts = [
        start
        for start in range(cursor + 1)
        if "".join(clusters[start:]).startswith(shown)
        and screen.col == len(PROMPT) + sum(cells[start:cursor])
    ]
    assert starts, (shown, editor.text, cursor, screen.col)
    if sum(cells) + 1 <= columns - len(PROMPT) - 1:  # it all fits: all of it is shown
        assert shown == editor.text


def test_a_line_longer_than_the_terminal_scrolls_sideways_and_never_wraps() -> None:
    line = "".join(str(n % 10) for n in range(100))
    screen, _, _ = drawn([line], 40)
    room = 40 - len(PROMPT) - 1  # the last column is never written
    assert screen.line(0) == PROMPT + line[-(room - 1) :] + " " * 2
    assert screen.col == 38
    screen, _, _ = drawn([line, HOME], 40)
    assert screen.line(0) == PROMPT + line[: room - 1] + " " * 2
    assert screen.col == len(PROMPT)


def test_the_line_entered_is_kept_to_be_drawn_whole_and_the_next_key_starts_anew() -> None:
    editor = typed("abc", LEFT)
    assert editor.feed("\r") == (Entered("abc"), "")
    assert (editor.text, editor.cursor) == ("abc", 3)  # the cursor at its end: drawn whole
    assert editor.feed("d") == (None, "")
    assert editor.text == "d"
