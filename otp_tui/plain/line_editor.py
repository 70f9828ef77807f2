"""The line being typed in the plain mode, and what each key does to it.

The plain mode edits its own line rather than leave it to the terminal's line discipline (which
echoes the Left key as ``^[[D`` into the answer) or to GNU readline. Readline was weighed and
set aside, because Python's `readline` module:

- only reads inside a blocking `input()`: the expiry, the "still sending" notices and the
  signals run on the event loop while the person types, and a notice printed from elsewhere
  garbles readline's line (the module exposes no way to redraw it);
- has no bound on the line's length: a pasted megabyte is kept whole;
- obeys ``INPUTRC`` and ``~/.inputrc``, which in the gate are the gated user's to write;
- writes escape sequences of its own (bracketed paste, the meta key), which a ``TERM=dumb``
  terminal or a screen reader shows as garbage.

So this module holds the keys a person expects from a shell (the readline/Emacs set) over a
line of at most `LINE_LIMIT` characters, and nothing more: no history, no completion, no
configuration. It does no I/O; `otp_tui.plain.lines` feeds it what is read and draws it with
`otp_tui.plain.line_display`.

The line is a list of clusters: a character that takes room on screen, with the combining
marks typed after it, so the cursor never lands inside an accented letter.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

# Characters the line holds at most. An address has at most 254, a pasted sentence with a code
# in it a few dozen; beyond this, what is typed or pasted is dropped as it arrives, so a huge
# paste costs time in proportion to its size and no memory.
LINE_LIMIT = 1024
# Bytes of an escape sequence's parameters kept: no key this editor knows has more; a longer
# sequence is read to its end and ignored.
_SEQUENCE_LIMIT = 16

ESC = "\x1b"
# What the Enter key and the controls do (the readline/Emacs keys a shell has).
_CONTROLS = {
    "\x01": "home",  # ctrl+A
    "\x02": "left",  # ctrl+B
    "\x04": "delete_or_end",  # ctrl+D
    "\x05": "end",  # ctrl+E
    "\x06": "right",  # ctrl+F
    "\x08": "backspace",  # ctrl+H, the Backspace of some terminals
    "\x0b": "kill_to_end",  # ctrl+K
    "\x15": "kill_to_start",  # ctrl+U
    "\x17": "kill_word_before",  # ctrl+W: back to the last space, as in a shell
    "\x7f": "backspace",
}
# ESC [ ... final (CSI) and ESC O final (SS3), by final character and first parameter.
_CSI_FINALS = {"A": "none", "B": "none", "C": "right", "D": "left", "H": "home", "F": "end"}
_CSI_TILDE = {"1": "home", "7": "home", "4": "end", "8": "end", "3": "delete"}
# ESC then a key: Alt with that key.
_META = {
    "b": "word_left",
    "f": "word_right",
    "d": "kill_word_after",
    "\x7f": "kill_alnum_before",
    "\x08": "kill_alnum_before",
}


def cluster_width(cluster: str) -> int:
    """Columns a cluster takes: two for the wide characters of East Asian scripts."""
    return 2 if unicodedata.east_asian_width(cluster[0]) in ("W", "F") else 1


def _joins(char: str) -> bool:
    # A combining mark takes no column of its own: it belongs to the character before it.
    return unicodedata.category(char) in ("Mn", "Me")


@dataclass(frozen=True)
class Entered:
    """Enter was pressed: the line as typed."""

    line: str


@dataclass(frozen=True)
class EndOfInput:
    """Ctrl+D on an empty line: the person is done."""


Event = Entered | EndOfInput


class LineEditor:
    """One line being typed: its clusters, the cursor, and the keys half-read."""

    def __init__(self, limit: int = LINE_LIMIT) -> None:
        self._limit = limit
        self.clusters: list[str] = []
        self.cursor = 0  # the cluster the cursor is on; len(clusters) at the end of the line
        self._chars = 0  # characters held, combining marks included: what the limit counts
        # A key's escape sequence can be cut between two reads: where the reading stopped.
        self._sequence: str | None = None  # after ESC: "" then "[" or "O" and the parameters
        self._sequence_dropped = False
        self._after_cr = False  # a CR just ended a line: an LF right after it is the same Enter
        self._entered = False  # Enter ended the line held: the next key starts a new one

    @property
    def text(self) -> str:
        return "".join(self.clusters)

    def feed(self, data: str) -> tuple[Event | None, str]:
        """Apply `data` key by key until a line ends: the event (or None if `data` ran out
        first) and what is left of `data`, to be fed once the line has been answered."""
        for index, char in enumerate(data):
            event = self._key(char)
            if event is not None:
                return event, data[index + 1 :]
        return None, ""

    # -- reading keys ----------------------------------------------------------------------

    def _key(self, char: str) -> Event | None:
        if self._entered:
            self.clear()
        after_cr, self._after_cr = self._after_cr, False
        if self._sequence is not None:
            return self._in_sequence(char)
        if char in ("\r", "\n"):
            if char == "\n" and after_cr:
                return None  # CR LF from a paste: one Enter
            self._after_cr = char == "\r"
            return self._enter()
        if char == ESC:
            self._sequence, self._sequence_dropped = "", False
            return None
        action = _CONTROLS.get(char)
        if action is not None:
            return self._act(action)
        if char.isprintable():
            self._insert(char)
        return None  # any other control (Tab, ctrl+L, ...) does nothing

    def _in_sequence(self, char: str) -> Event | None:
        sequence = self._sequence
        assert sequence is not None
        if sequence == "":  # the character after ESC
            if char in "[O":
                self._sequence = char
                return None
            self._sequence = None
            action = _META.get(char)
            if action is not None:
                return self._act(action)
            # A lone Escape pressed before a key: the Escape means nothing, the key counts.
            return None if char == ESC else self._key(char)
        if sequence == "O":  # SS3: one final character (the arrows of application mode)
            self._sequence = None
            if not "\x40" <= char <= "\x7e":  # Escape, O, then Enter: not a sequence
                return self._key(char)
            return self._act(_CSI_FINALS.get(char, "none"))
        if "\x20" <= char <= "\x3f":  # parameters and intermediates of a CSI sequence
            if len(sequence) < _SEQUENCE_LIMIT:
                self._sequence = sequence + char
            else:
                self._sequence_dropped = True
            return None
        self._sequence = None
        if not "\x40" <= char <= "\x7e":  # not a sequence after all: the character counts
            return self._key(char)
        if self._sequence_dropped:
            return None
        return self._act(_csi_action(sequence[1:], char))

    # -- what keys do ----------------------------------------------------------------------

    def _act(self, action: str) -> Event | None:
        clusters, cursor = self.clusters, self.cursor
        if action == "left":
            self.cursor = max(0, cursor - 1)
        elif action == "right":
            self.cursor = min(len(clusters), cursor + 1)
        elif action == "home":
            self.cursor = 0
        elif action == "end":
            self.cursor = len(clusters)
        elif action == "word_left":
            self.cursor = self._word_start(cursor, _alnum)
        elif action == "word_right":
            self.cursor = self._word_end(cursor, _alnum)
        elif action == "backspace":
            self._cut(max(0, cursor - 1), cursor)
        elif action == "delete":
            self._cut(cursor, min(len(clusters), cursor + 1))
        elif action == "delete_or_end":
            if not clusters:
                return EndOfInput()
            self._cut(cursor, min(len(clusters), cursor + 1))
        elif action == "kill_to_end":
            self._cut(cursor, len(clusters))
        elif action == "kill_to_start":
            self._cut(0, cursor)
        elif action == "kill_word_before":
            self._cut(self._word_start(cursor, _not_space), cursor)
        elif action == "kill_alnum_before":
            self._cut(self._word_start(cursor, _alnum), cursor)
        elif action == "kill_word_after":
            self._cut(cursor, self._word_end(cursor, _alnum))
        return None  # "none": a key known to mean nothing here (Up, Down)

    def _enter(self) -> Entered:
        # The line stays, the cursor at its end, until it has been drawn whole (`clear`); the
        # next key starts a new one in any case.
        self.cursor, self._entered = len(self.clusters), True
        return Entered(self.text)

    def clear(self) -> None:
        """Start a new, empty line."""
        self.clusters, self.cursor, self._chars, self._entered = [], 0, 0, False

    def _insert(self, char: str) -> None:
        if self._chars >= self._limit:
            return
        if _joins(char):
            if self.cursor == 0:
                return  # a mark with nothing to sit on
            self.clusters[self.cursor - 1] += char
        else:
            self.clusters.insert(self.cursor, char)
            self.cursor += 1
        self._chars += 1

    def _cut(self, start: int, end: int) -> None:
        self._chars -= sum(len(cluster) for cluster in self.clusters[start:end])
        del self.clusters[start:end]
        self.cursor = start

    def _word_start(self, at: int, in_word: Callable[[str], bool]) -> int:
        while at > 0 and not in_word(self.clusters[at - 1]):
            at -= 1
        while at > 0 and in_word(self.clusters[at - 1]):
            at -= 1
        return at

    def _word_end(self, at: int, in_word: Callable[[str], bool]) -> int:
        end = len(self.clusters)
        while at < end and not in_word(self.clusters[at]):
            at += 1
        while at < end and in_word(self.clusters[at]):
            at += 1
        return at


def _csi_action(parameters: str, final: str) -> str:
    first, _, modifier = parameters.partition(";")
    if final == "~":
        return _CSI_TILDE.get(first, "none")  # Insert, Page Up/Down, F5..: nothing
    action = _CSI_FINALS.get(final, "none")
    if modifier in ("3", "5") and action in ("left", "right"):  # Alt or Ctrl with an arrow
        return "word_" + action
    return action


def _alnum(cluster: str) -> bool:
    return cluster[0].isalnum()


def _not_space(cluster: str) -> bool:
    return not cluster.isspace()
