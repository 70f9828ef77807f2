"""Only the cells that changed go to the terminal.

Textual repaints whole widgets, and at times the whole screen, when little or nothing on it has
changed: the whole screen twice as it starts, three rows of an entry for one typed character,
all of a button for a new label. Over a 9600-baud link (960 bytes a second) each full repaint is
seconds of backlog. `ScreenDiff` keeps what the terminal shows, cell by cell, and turns each frame
Textual writes into the pieces of text that differ from it: a cursor move to each, and a style
only where the style changes. A frame that changes nothing costs nothing.

The unit is the run of text Textual writes in one style (a label, a countdown, an entry's
value), not the single cell: a piece of text that changes at all is sent whole, so what reaches
the terminal reads as words, also to whatever reads the stream rather than a screen (a log of
the session, a screen reader on a braille line, a test).

It reads only the sequences Textual's frames are made of: cursor positioning, SGR styles,
printable text and newlines between lines, plus mode switches and OSC strings that draw
nothing. Anything else (an erase, a scroll, a character whose width is in doubt) is written
exactly as given and makes it forget what the terminal shows, so the next frame is sent whole:
when in doubt, more bytes, never a wrong screen.
"""

from __future__ import annotations

import re

from rich.cells import cell_len, get_character_cell_size

SYNC_START = "\x1b[?2026h"
SYNC_END = "\x1b[?2026l"

# Unchanged cells between two changed runs on a row are sent again when that is shorter than
# moving the cursor over them.
_GAP = 4

_TOKEN = re.compile(
    r"(?P<csi>\x1b\[(?P<params>[0-?]*)(?P<inter>[ -/]*)(?P<final>[@-~]))"
    r"|(?P<osc>\x1b\](?P<osc_body>[^\x07\x1b]*)(?:\x07|\x1b\\))"
    r"|(?P<newline>\r?\n)"
    r"|(?P<text>[^\x00-\x1f\x7f-\x9f]+)"
    r"|(?P<other>[\s\S])"
)
# Alternate-screen switches: what the terminal shows afterwards is not what it showed before.
_SCREEN_SWITCHES = {"47", "1047", "1049"}


# A cell: (text, style). The text is one character, "" for the right half of a double-width
# one; the style is the SGR parameter strings in force, in order since the last reset. Plain
# tuples: a full screen is two thousand of them, made on every frame.
Cell = tuple[str, tuple[str, ...]]


def _wide(text: str) -> bool:
    return not text.isascii() and cell_len(text) == 2


class _Unreadable(Exception):
    """A frame holds something this model does not follow."""


class ScreenDiff:
    """What the terminal shows, and each frame cut down to what changes it."""

    def __init__(self) -> None:
        self._shown: dict[tuple[int, int], Cell] = {}
        self._cursor: tuple[int, int] | None = None  # (row, column), 0-based
        self._style: tuple[str, ...] | None = ()  # the terminal's SGR state; None: not known
        self._sync_held = False

    def forget(self) -> None:
        """The terminal may show anything now (it was resized, or written to behind our back):
        the next frame goes out whole."""
        self._shown.clear()
        self._cursor = None
        self._style = None

    def write(self, data: str) -> str:
        """What to send to the terminal for `data`, which Textual meant to send."""
        if data == SYNC_START:  # held until something is drawn: an empty frame sends nothing
            self._sync_held = True
            return ""
        if data == SYNC_END:
            if self._sync_held:
                self._sync_held = False
                return ""
            return data
        try:
            out = self._frame(data)
        except _Unreadable:
            self.forget()
            out = data
        if out and self._sync_held:
            self._sync_held = False
            out = SYNC_START + out
        return out

    # -- reading a frame -------------------------------------------------------------------

    def _frame(self, data: str) -> str:
        drawn: dict[tuple[int, int], Cell] = {}
        pieces: list[list[tuple[int, int]]] = []  # the cells of each run of text, in order
        passed: list[str] = []  # sequences that draw nothing, sent as they are
        cursor = self._cursor
        style: tuple[str, ...] = ()
        for token in _TOKEN.finditer(data):
            kind = token.lastgroup
            if kind == "text":
                if cursor is None or cursor[1] < 0:
                    raise _Unreadable
                piece: list[tuple[int, int]] = []
                cursor = _put(drawn, piece, cursor, token.group("text"), style)
                pieces.append(piece)
            elif kind == "csi":
                params, final = token.group("params"), token.group("final")
                inter = token.group("inter")
                if final == "m" and not inter:
                    style = _sgr(style, params)
                elif final in "Hf" and not inter and not params.startswith(("?", ">", "<", "=")):
                    cursor = _position(params)
                elif params[:1] in ("?", ">", "<", "=") and final in "hlupc" and inter in "$":
                    if final in "hl" and _SCREEN_SWITCHES & set(params[1:].split(";")):
                        raise _Unreadable
                    passed.append(token.group())
                else:
                    raise _Unreadable
            elif kind == "osc":
                if token.group("osc_body").startswith("8;"):  # a hyperlink belongs to cells
                    raise _Unreadable
                passed.append(token.group())
            elif kind == "newline":
                # Between the lines of a full frame, each of which starts with a cursor move:
                # only the row is certain (the column depends on the terminal's settings).
                if cursor is None:
                    raise _Unreadable
                cursor = (cursor[0] + 1, -1)
            elif token.group() == "\x07":  # the bell draws nothing
                passed.append(token.group())
            else:
                raise _Unreadable
        return "".join(passed) + self._send(drawn, pieces, cursor)

    # -- writing the difference ------------------------------------------------------------

    def _send(
        self,
        drawn: dict[tuple[int, int], Cell],
        pieces: list[list[tuple[int, int]]],
        cursor: tuple[int, int] | None,
    ) -> str:
        shown = self._shown
        changed: set[tuple[int, int]] = set()
        for (row, column), cell in drawn.items():
            was = shown.get((row, column))
            if was == cell:
                continue
            changed.add((row, column))
            if was is not None and (was[0] == "" or _wide(was[0])):
                # Half of a wide character is overwritten: the terminal decides what becomes
                # of the other half, so it is no longer known (unless this frame draws it).
                # Only that half: the cell on the other side may be half of another wide
                # character, whose halves are known together or not at all.
                other = (row, column - 1 if was[0] == "" else column + 1)
                if other not in drawn:
                    shown.pop(other, None)
        owner = {position: number for number, piece in enumerate(pieces) for position in piece}
        rows: dict[int, list[int]] = {}
        for number, piece in enumerate(pieces):
            # A piece of text with any change in it goes out whole, where this frame still
            # shows it (a later piece may have been drawn over some of its cells).
            mine = [position for position in piece if owner[position] == number]
            if any(position in changed for position in mine):
                for row, column in mine:
                    rows.setdefault(row, []).append(column)
        shown.update(drawn)
        out: list[str] = []
        for row in sorted(rows):
            for start, end in self._runs(row, sorted(set(rows[row]))):
                self._move(out, row, start)
                for column in range(start, end):
                    text, style = shown[(row, column)]
                    if not text:
                        continue
                    if style != self._style:
                        out.append(f"\x1b[0;{';'.join(style)}m" if style else "\x1b[0m")
                        self._style = style
                    out.append(text)
                self._cursor = (row, end)
        if self._style != ():
            out.append("\x1b[0m")
            self._style = ()
        if cursor is not None and cursor[1] < 0:
            raise _Unreadable  # a frame that leaves the cursor somewhere unknown
        if cursor is not None and cursor != self._cursor:
            out.append(f"\x1b[{cursor[0] + 1};{cursor[1] + 1}H")
        self._cursor = cursor
        return "".join(out)

    def _runs(self, row: int, columns: list[int]) -> list[tuple[int, int]]:
        """Runs [start, end) covering the changed columns, never half a wide character."""
        shown = self._shown
        runs: list[list[int]] = []
        for column in columns:
            start = column - 1 if shown[(row, column)][0] == "" else column
            end = start + (2 if _wide(shown[(row, start)][0]) else 1)
            if (
                runs
                and start <= runs[-1][1] + _GAP
                and all((row, gap) in shown for gap in range(runs[-1][1], start))
            ):
                runs[-1][1] = max(runs[-1][1], end)
                continue
            runs.append([start, end])
        return [(start, end) for start, end in runs]

    def _move(self, out: list[str], row: int, column: int) -> None:
        if self._cursor == (row, column):
            return
        if self._cursor is not None and self._cursor[0] == row and self._cursor[1] < column:
            step = column - self._cursor[1]
            out.append("\x1b[C" if step == 1 else f"\x1b[{step}C")
        else:
            out.append(f"\x1b[{row + 1};{column + 1}H")


def _sgr(style: tuple[str, ...], params: str) -> tuple[str, ...]:
    if params in ("", "0"):
        return ()
    if params.startswith("0;"):
        return (params[2:],)
    return (*style, params)


def _position(params: str) -> tuple[int, int]:
    parts = params.split(";") if params else []
    if len(parts) > 2 or not all(part.isdigit() or part == "" for part in parts):
        raise _Unreadable
    row = int(parts[0]) if parts and parts[0] else 1
    column = int(parts[1]) if len(parts) > 1 and parts[1] else 1
    return max(row, 1) - 1, max(column, 1) - 1


def _put(
    drawn: dict[tuple[int, int], Cell],
    piece: list[tuple[int, int]],
    cursor: tuple[int, int],
    text: str,
    style: tuple[str, ...],
) -> tuple[int, int]:
    row, column = cursor
    if text.isascii():
        for char in text:
            was = drawn.get((row, column))
            if was is not None and (not was[0] or not was[0].isascii()):
                _no_half_overwrite(drawn, row, column, 1)
            drawn[(row, column)] = (char, style)
            piece.append((row, column))
            column += 1
        return row, column
    widths = [get_character_cell_size(char) for char in text]
    if sum(widths) != cell_len(text) or any(width not in (1, 2) for width in widths):
        raise _Unreadable  # combining marks, joiners, emoji sequences: let the terminal judge
    for char, width in zip(text, widths, strict=True):
        _no_half_overwrite(drawn, row, column, width)
        drawn[(row, column)] = (char, style)
        piece.append((row, column))
        if width == 2:
            drawn[(row, column + 1)] = ("", style)
            piece.append((row, column + 1))
        column += width
    return row, column


def _no_half_overwrite(
    drawn: dict[tuple[int, int], Cell], row: int, column: int, width: int
) -> None:
    """A frame that draws over half of a wide character it drew itself leaves the terminal to
    decide what shows: not followed."""
    covered = range(column, column + width)
    for col in covered:
        was = drawn.get((row, col))
        if was is None:
            continue
        halves = (col - 1, col) if was[0] == "" else (col, col + 1)
        if (was[0] == "" or _wide(was[0])) and not all(h in covered for h in halves):
            raise _Unreadable
