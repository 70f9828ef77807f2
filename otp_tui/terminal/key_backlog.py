"""Keys read from the terminal and not yet handled: counted, and dropped past a bound.

Textual's input thread reads keys as fast as the terminal delivers them and queues every one
for the app; nothing bounds the queue. Two million digits typed into the code screen (not a
paste) grew the process by gigabytes, and a saturated loop never got to its signal handlers.
What a screen can use is a few hundred keys at most (the longest address is 254 characters,
a code a handful of digits), so a key that arrives while that many are still waiting is
dropped, not queued: memory stays bounded whatever is typed, and whatever the person types
once the flood has gone through is taken again.

A paste is one event, however long; one longer than any screen can use reaches the app empty.
(Textual's parser still collects a bracketed paste whole before it becomes an event, about
20 bytes a character: a limit of the library, which the gate's memory ceiling bounds.)

A key counts from the moment it is read until the app has finished with it and let it go
(a weak reference's finaliser tells), wherever it waits meanwhile: on its way to the app, in
the app's queue, in the focused widget's, or held until the first screen is ready.
"""

from __future__ import annotations

import threading
import weakref

from textual import events

# Keys waiting before typing is dropped: the longest address (254 characters) fits, typed
# ahead or pasted by a terminal without bracketed paste. Each waiting key costs about a
# kilobyte; and since Textual handles a widget's waiting keys without returning to the loop
# in between, the bound is also how long the loop can be kept away (about 0.3 s at 256 keys).
TYPING_LIMIT = 256
# The longest paste taken: an address, or a code in the sentence or mail it came in. A longer
# one reaches the app as an empty paste (which the code entry refuses aloud): searching ten
# megabytes of digits for a code took over a gigabyte.
MAX_PASTE = 16 * 1024
# Keys waiting before every key is dropped, the ones that end or move a run (ctrl+q, Escape)
# included: those get through a flood of typing, but no key may queue without bound.
KEY_LIMIT = 512


class KeyBacklog:
    def __init__(self, typing_limit: int = TYPING_LIMIT, key_limit: int = KEY_LIMIT) -> None:
        self._typing_limit = typing_limit
        self._key_limit = key_limit
        self._lock = threading.Lock()  # the input thread adds, whichever thread lets go removes
        self._waiting = 0
        self.dropped = 0

    @property
    def waiting(self) -> int:
        return self._waiting

    def admit(self, event: events.Key | events.Paste) -> bool:
        """True if `event` may go to the app (and is counted until it is gone). A paste
        longer than `MAX_PASTE` has been emptied by `bounded`."""
        limit = self._typing_limit if _is_typing(event) else self._key_limit
        with self._lock:
            if self._waiting >= limit:
                self.dropped += 1
                return False
            self._waiting += 1
        weakref.finalize(event, self._gone)
        return True

    def _gone(self) -> None:
        with self._lock:
            self._waiting -= 1


def bounded(event: events.Paste) -> events.Paste:
    """`event`, or an empty paste in its place if it is longer than any screen can use."""
    return event if len(event.text) <= MAX_PASTE else events.Paste("")


def _is_typing(event: events.Key | events.Paste) -> bool:
    """Text and its editing, as opposed to the keys that end or move a run."""
    if isinstance(event, events.Paste):
        return True
    return event.is_printable or event.key in ("backspace", "delete", "enter", "tab")
