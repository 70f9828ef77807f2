"""The code entry on its own (`otp_tui.tui.widgets.code_entry`): a guess in flight takes no more
typed characters."""

from __future__ import annotations

from textual.app import App, ComposeResult

from otp_tui.tui.widgets.code_entry import CodeEntry


class EntryAlone(App[None]):
    """Only the entry; nobody answers the code it hands over, so the guess stays in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.handed_over: list[str] = []

    def compose(self) -> ComposeResult:
        yield CodeEntry(6)

    def on_code_entry_completed(self, event: CodeEntry.Completed) -> None:
        self.handed_over.append(event.digits)


async def test_keys_typed_while_a_guess_is_in_flight_are_dropped() -> None:
    app = EntryAlone()
    async with app.run_test() as pilot:
        entry = app.query_one(CodeEntry)
        await pilot.press(*"123456")
        await pilot.pause()
        assert app.handed_over == ["123456"]
        await pilot.press(*"7890" * 50)  # typed after the code went, before any answer
        await pilot.pause()
        assert entry.value == "123456"
        entry.clear_entry()  # the answer came: the next try starts empty
        assert entry.value == ""
        assert app.handed_over == ["123456"]


async def test_backspace_takes_a_code_in_flight_back_and_typing_goes_on() -> None:
    app = EntryAlone()
    async with app.run_test() as pilot:
        entry = app.query_one(CodeEntry)
        await pilot.press(*"123456")
        await pilot.pause()
        await pilot.press("backspace", "9")
        await pilot.pause()
        assert entry.value == "123459"
        assert app.handed_over == ["123456", "123459"]
