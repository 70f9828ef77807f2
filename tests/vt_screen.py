"""A small terminal screen for tests: what a person at the far end of the output would see.

It reads what a program wrote (in pieces, as they arrive; a sequence or a UTF-8 character may
be split between two) and keeps the grid of characters and their styles: cursor positioning and
movement, SGR styles (turned into attributes, so ``ESC[0;1m`` and ``ESC[0m ESC[1m`` are one
style), erasing, CR and LF, wide characters. Modes, queries and OSC strings draw nothing and are
skipped. It is written apart from `otp_tui.terminal.screen_diff` on purpose: the tests compare the
screen raw Textual output draws with the screen the diffed output draws, and the two readers
must not share a mistake.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

_SEQUENCE = re.compile(
    r"\x1b\[(?P<params>[0-?]*)(?P<inter>[ -/]*)(?P<final>[@-~])"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[P_^][^\x1b]*\x1b\\"
    r"|\x1b[ -/]*[0-~]"
)
# An escape sequence cut off at the end of what has arrived so far.
_INCOMPLETE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[P_^][^\x1b]*\x1b?|[ -/]*)\Z")


@dataclass(frozen=True)
class Style:
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    blink: bool = False
    reverse: bool = False
    strike: bool = False
    fg: str = "default"
    bg: str = "default"


@dataclass
class Screen:
    cols: int = 80
    rows: int = 24
    grid: list[list[tuple[str, Style]]] = field(init=False)
    row: int = 0
    col: int = 0
    style: Style = field(default_factory=Style)

    def __post_init__(self) -> None:
        self.grid = [[(" ", Style()) for _ in range(self.cols)] for _ in range(self.rows)]
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""

    # -- what it shows ---------------------------------------------------------------------

    def line(self, row: int) -> str:
        return "".join(char for char, _ in self.grid[row])

    @property
    def text(self) -> str:
        return "\n".join(self.line(row) for row in range(self.rows))

    def find(self, needle: str) -> tuple[int, int] | None:
        """(row, column) of the first place `needle` shows, counting cells, or None."""
        for row in range(self.rows):
            cells = self.grid[row]
            for col in range(self.cols):
                chars = "".join(char for char, _ in cells[col : col + len(needle) * 2])
                if chars.startswith(needle):
                    return row, col
        return None

    def snapshot(self) -> list[list[tuple[str, Style]]]:
        return [list(row) for row in self.grid]

    # -- reading output --------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        text = self._pending + self._decoder.decode(data)
        tail = _INCOMPLETE.search(text)
        if tail is not None and tail.group(0):
            self._pending, text = text[tail.start() :], text[: tail.start()]
        else:
            self._pending = ""
        position = 0
        for match in _SEQUENCE.finditer(text):
            self._print(text[position : match.start()])
            self._sequence(match)
            position = match.end()
        self._print(text[position:])

    def _print(self, text: str) -> None:
        for char in text:
            if char == "\r":
                self.col = 0
            elif char == "\n":
                self.row = min(self.row + 1, self.rows - 1)
            elif char == "\b":
                self.col = max(self.col - 1, 0)
            elif ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0:
                continue  # the bell and other controls draw nothing here
            elif unicodedata.combining(char):
                continue
            else:
                wide = unicodedata.east_asian_width(char) in ("W", "F")
                self._put(self.col, char)
                if wide:
                    self._put(self.col + 1, "")
                self.col = min(self.col + (2 if wide else 1), self.cols - 1)

    def _put(self, col: int, char: str) -> None:
        """Write one cell; as terminals do, a wide character cut in half loses its other half."""
        if col >= self.cols:
            return
        cells = self.grid[self.row]
        old = cells[col][0]
        if old == "" and col > 0 and char != "":
            cells[col - 1] = (" ", cells[col - 1][1])
        if old != "" and col + 1 < self.cols and cells[col + 1][0] == "":
            cells[col + 1] = (" ", cells[col + 1][1])
        cells[col] = (char, self.style)

    def _sequence(self, match: re.Match[str]) -> None:
        final = match.group("final")
        if final is None or match.group("inter"):
            return  # OSC, string sequences, charset selections, DECRQM: nothing drawn
        params = match.group("params")
        if params[:1] in ("?", ">", "<", "="):
            return  # modes and queries
        numbers = [int(part) if part.isdigit() else 0 for part in params.split(";")]
        first = numbers[0] or 1
        if final in "Hf":
            row = numbers[0] or 1
            col = (numbers[1] if len(numbers) > 1 else 0) or 1
            self.row, self.col = min(row, self.rows) - 1, min(col, self.cols) - 1
        elif final == "A":
            self.row = max(self.row - first, 0)
        elif final == "B":
            self.row = min(self.row + first, self.rows - 1)
        elif final == "C":
            self.col = min(self.col + first, self.cols - 1)
        elif final == "D":
            self.col = max(self.col - first, 0)
        elif final == "G":
            self.col = min(first, self.cols) - 1
        elif final == "m":
            self.style = _sgr(self.style, numbers)
        elif final == "K":
            start, end = {0: (self.col, self.cols), 1: (0, self.col + 1)}.get(
                numbers[0], (0, self.cols)
            )
            self._erase(self.row, start, end)
        elif final == "X":
            self._erase(self.row, self.col, min(self.col + first, self.cols))
        elif final == "J":
            rows = {0: range(self.row + 1, self.rows), 1: range(self.row)}.get(
                numbers[0], range(self.rows)
            )
            for row in rows:
                self._erase(row, 0, self.cols)
            if numbers[0] == 0:
                self._erase(self.row, self.col, self.cols)

    def _erase(self, row: int, start: int, end: int) -> None:
        blank = (" ", Style(bg=self.style.bg))  # the erased cells take the background
        for col in range(start, end):
            self.grid[row][col] = blank


_FLAGS = {1: "bold", 2: "dim", 3: "italic", 4: "underline", 5: "blink", 7: "reverse", 9: "strike"}
_UNFLAGS = {22: ("bold", "dim"), 23: ("italic",), 24: ("underline",), 25: ("blink",)}
_UNFLAGS |= {27: ("reverse",), 29: ("strike",)}


def _with(style: Style, changes: dict[str, Any]) -> Style:
    """`replace` with field names chosen at run time (typed loosely: the names vary)."""
    return replace(style, **changes)


def _sgr(style: Style, numbers: list[int]) -> Style:
    index = 0
    while index < len(numbers):
        number = numbers[index]
        if number == 0:
            style = Style()
        elif number in _FLAGS:
            style = _with(style, {_FLAGS[number]: True})
        elif number in _UNFLAGS:
            style = _with(style, dict.fromkeys(_UNFLAGS[number], False))
        elif number in (38, 48):
            kind = numbers[index + 1] if index + 1 < len(numbers) else 0
            width = 3 if kind == 2 else 1
            colour = ":".join(map(str, numbers[index + 1 : index + 2 + width]))
            style = _with(style, {"fg" if number == 38 else "bg": colour})
            index += 1 + width
        elif number == 39:
            style = replace(style, fg="default")
        elif number == 49:
            style = replace(style, bg="default")
        elif 30 <= number <= 37 or 90 <= number <= 97:
            style = replace(style, fg=str(number))
        elif 40 <= number <= 47 or 100 <= number <= 107:
            style = replace(style, bg=str(number))
        index += 1
    return style
