"""The line being typed, drawn on the terminal's last line with nothing but CR, BS and text.

No escape sequence is ever written: a ``TERM=dumb`` terminal, a serial console and a screen
reader all understand carriage return, backspace and printable characters, and nothing else is
safe to assume in the plain mode. Each change writes only what differs (a typed character at
the end is that character, as a terminal's own echo would be; Backspace there is "BS space BS"),
so a screen reader hears what is typed and not the whole line again.

The line never reaches the terminal's last column: past it the cursor wraps, and CR and BS
then no longer reach the start of the line. A line longer than the room after the prompt
scrolls sideways under the cursor instead, as readline's horizontal-scroll-mode does.
"""

from __future__ import annotations

from otp_tui.plain.line_editor import cluster_width

# Columns shown of the line even when the prompt leaves less (the terminal then wraps).
MIN_WINDOW = 10


def _cells(clusters: list[str]) -> int:
    return sum(cluster_width(cluster) for cluster in clusters)


class LineDisplay:
    """What the terminal's current line shows (a prompt, part of the line typed, the cursor),
    and the text that turns it into what it should show."""

    def __init__(self) -> None:
        self.prompt = ""  # the prompt written at the start of the line, "" for none
        self._shown: list[str] = []  # the clusters on screen after the prompt
        self._at = 0  # where the cursor is among them
        self._scroll = 0  # the line's first cluster on screen

    @property
    def drawn(self) -> bool:
        """Whether anything is on the current line (then text from elsewhere goes below it)."""
        return bool(self.prompt or self._shown)

    @property
    def width(self) -> int:
        """Columns the current line takes, the cursor's own at its end included."""
        return _cells(list(self.prompt)) + _cells(self._shown) + 1

    def ask(self, prompt: str, clusters: list[str], cursor: int, columns: int) -> str:
        """A new prompt at the start of the line, with what was already typed after it."""
        out = self.erase() + prompt
        self.prompt = prompt
        return out + self.update(clusters, cursor, columns)

    def update(self, clusters: list[str], cursor: int, columns: int) -> str:
        """Bring the screen from what it shows to `clusters` with the cursor at `cursor`."""
        room = max(MIN_WINDOW, columns - _cells(list(self.prompt)) - 1)
        start = self._scroll = _scroll(clusters, cursor, room, self._scroll)
        want, at = _window(clusters[start:], room), cursor - start
        shown, was = self._shown, self._at
        self._shown, self._at = want, at
        if want == shown:
            return _move(shown, was, at)
        first = 0
        while first < min(len(shown), len(want)) and shown[first] == want[first]:
            first += 1
        gone = _cells(shown[first:]) - _cells(want[first:])  # old cells to blank out
        out = _move(shown, was, first) + "".join(want[first:])
        if gone > 0:
            out += " " * gone
        return out + "\b" * (max(gone, 0) + _cells(want[at:]))

    def erase(self) -> str:
        """Blank the current line and go to its start (a notice is about to be written)."""
        if not self.drawn:
            return ""
        width = _cells(list(self.prompt)) + _cells(self._shown)
        self.forget()
        return "\r" + " " * width + "\r"

    def leave(self) -> str:
        """Go below the current line and leave it as it is."""
        out = "\n" if self.drawn else ""
        self.forget()
        return out

    def forget(self) -> None:
        """The line has been left by other means (Enter's own newline)."""
        self.prompt, self._shown, self._at, self._scroll = "", [], 0, 0


def _move(shown: list[str], at: int, to: int) -> str:
    # Back with BS, one per column; forward by writing again what is already there.
    if to < at:
        return "\b" * _cells(shown[to:at])
    return "".join(shown[at:to])


def _scroll(clusters: list[str], cursor: int, room: int, start: int) -> int:
    """The first cluster to show: the cursor stays within `room` columns (its own included),
    and the line is shown from as far left as that allows."""
    start = min(start, cursor)
    before = _cells(clusters[start:cursor])
    while start < cursor and before + 1 > room:
        before -= cluster_width(clusters[start])
        start += 1
    after = _cells(clusters[start:]) if start > 0 else 0
    while start > 0 and after + cluster_width(clusters[start - 1]) + 1 <= room:
        start -= 1
        after += cluster_width(clusters[start])
    return start


def _window(clusters: list[str], room: int) -> list[str]:
    """As many clusters as fit in `room` columns less the cursor's."""
    shown, used = [], 0
    for cluster in clusters:
        used += cluster_width(cluster)
        if used >= room:
            break
        shown.append(cluster)
    return shown
