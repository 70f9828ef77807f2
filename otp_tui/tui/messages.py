"""What screens say to the app: one message per intention of the person at the terminal.

Screens post these upward and never call into the app; the app hands each to the run and shows
the view it gets back ("attributes down, messages up").
"""

from __future__ import annotations

from textual.message import Message


class AddressScreenReady(Message):
    """The address entry has focus: keys typed ahead while the app started can go to it."""


class AddressSubmitted(Message):
    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address


class CodeEntered(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ResendAsked(Message):
    pass


class RetryAsked(Message):
    pass


class BackAsked(Message):
    """Escape on the sending or code screen: back to the address."""


class LeaveAsked(Message):
    """A key that leaves a result screen."""
