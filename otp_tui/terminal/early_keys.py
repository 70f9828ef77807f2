"""Keys typed ahead while otp-tui starts, held until the address entry can take them.

Over SSH people often type straight after the command. The terminal is in raw mode, and the
keys are read, a moment before the address screen has composed and focused its entry; Textual
would hand them to the bare screen, which drops them. They are held here and delivered, in
order, once the address screen says it is ready.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual import events


class EarlyKeys:
    def __init__(self) -> None:
        self._held: list[events.Key | events.Paste] | None = []

    def hold(self, event: events.Event) -> bool:
        """True if `event` was kept for later (a key or paste before the entry is ready)."""
        if self._held is None or event.is_forwarded:
            return False
        if isinstance(event, events.Key | events.Paste):
            self._held.append(event)
            return True
        return False

    async def release(self, deliver: Callable[[events.Event], Awaitable[None]]) -> None:
        """Deliver what was held, in order; from now on nothing is held."""
        held, self._held = self._held or [], None
        for event in held:
            await deliver(event)
