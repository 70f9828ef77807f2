"""The code entry and the line mode read a paste alike: the same text is accepted (as the same
code) or refused by both, because both hand it to the core's one rule (`code_in_text`).

The TUI side is the real `CodeEntry` widget in a Textual app, sent a real paste event; the line
mode side is the real `LineMode` on a pseudo-terminal, typed the same text as one line, with a
demo run behind it. A line is one line: pastes here hold no line break.
"""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest
from fakes import FakeClock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual import events
from textual.app import App, ComposeResult

from otp_tui.config.schema import SenderSettings, Settings, SmtpSettings
from otp_tui.core.codes import OneTimeCode
from otp_tui.core.limits import MemoryLedger
from otp_tui.core.machine import Verification
from otp_tui.core.outcomes import Malformed, SendCode, Verified
from otp_tui.core.policy import Policy
from otp_tui.flow import wording
from otp_tui.flow.build import make_run
from otp_tui.plain.line_mode import LineMode
from otp_tui.tui.widgets.code_entry import CodeEntry

CODE = "204913"
ADDRESS = "bob@example.com"
WAIT = 5.0  # seconds a line may take to appear: real I/O, never the clock


class EntryApp(App[None]):
    """Only the code entry, and what it announced."""

    def __init__(self) -> None:
        super().__init__()
        self.heard: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield CodeEntry(6, id="code")

    def on_code_entry_completed(self, event: CodeEntry.Completed) -> None:
        self.heard.append(event.digits)

    def on_code_entry_paste_refused(self, _: CodeEntry.PasteRefused) -> None:
        self.heard.append(None)


async def tui_reads(pastes: list[str]) -> list[str | None]:
    """What the entry makes of each paste: the code it hands on, or None (refused aloud)."""
    app = EntryApp()
    answers: list[str | None] = []
    async with app.run_test() as pilot:
        entry = app.query_one(CodeEntry)
        for text in pastes:
            entry.clear_entry()
            await pilot.pause()
            app.heard.clear()
            entry.post_message(events.Paste(text))
            for _ in range(50):
                await pilot.pause()
                if app.heard:
                    break
            assert len(app.heard) == 1, (text, app.heard)
            answers.append(app.heard[0])
    return answers


async def line_mode_answers(text: str, tmp_path: Path) -> str:
    """What the line mode says to `text` typed at its code prompt, on a fresh demo run."""
    wall = FakeClock(1_800_000_000.0)
    run = make_run(
        Settings(smtp=SmtpSettings(), sender=SenderSettings(address="otp@example.com")),
        email=None,
        demo=True,
        ledger=MemoryLedger(wall),
        clock=FakeClock(),
        wall_clock=wall,
        make_code=lambda length: OneTimeCode(CODE),
        origin="test-host",
        outbox_dir=tmp_path / "outbox",
    )
    master, slave = os.openpty()
    out = io.StringIO()
    line_mode = LineMode(run, out, fd=slave, install_signals=False, tick=0.01)
    main = asyncio.create_task(line_mode.main())
    try:

        async def after(marker: str, start: int) -> int:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + WAIT
            while (found := out.getvalue().find(marker, start)) < 0:
                assert loop.time() < deadline, f"never saw {marker!r} in:\n{out.getvalue()}"
                await asyncio.sleep(0.01)
            return found + len(marker)

        mark = await after(wording.plain_address_prompt(), 0)
        os.write(master, ADDRESS.encode() + b"\n")
        mark = await after("Type the code and press Enter", mark)
        mark = await after(wording.plain_code_prompt(), mark)
        os.write(master, text.encode() + b"\n")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while True:
            said = out.getvalue()[mark:]
            for answer in ("Verified.", "The code has 6 digits.", "Wrong code"):
                if answer in said:
                    return answer
            assert loop.time() < deadline, f"no answer to {text!r} in:\n{out.getvalue()}"
            await asyncio.sleep(0.01)
    finally:
        if not main.done():
            line_mode.end_from_signal("hangup")
        await asyncio.wait_for(main, WAIT)
        os.close(master)
        os.close(slave)


PASTES = [
    CODE,
    "204 913",
    "204-913",
    f"Your code is {CODE}",
    f"Your code is {CODE}.",
    "code: 204-913 (valid 10 minutes)",
    f"+{CODE}",
    "Your code is 123456",  # a code, not the right one
    f"{CODE} or 654321",  # two codes: which one is not ours to guess
    "no code here",
    "20491",
    "2049133",
    "١٢٣٤٥٦",  # not ASCII digits
    "204_913",
]


@pytest.mark.parametrize("text", PASTES)
async def test_the_tui_and_the_line_mode_accept_and_refuse_the_same_pastes(text, tmp_path):
    [tui] = await tui_reads([text])
    plain = await line_mode_answers(text, tmp_path)
    if tui is None:
        assert plain == "The code has 6 digits.", text
    elif tui == CODE:
        assert plain == "Verified.", text
    else:
        assert plain == "Wrong code", text


# Any one-line text: the entry hands on exactly what the machine (which the line mode hands
# every typed line to, as it is) reads from it.
pieces = st.sampled_from(["Your code is ", "code: ", " ", "-", ".", "x", "\t", "+", "(", ")"])
digit_runs = st.text(alphabet="0123456789", min_size=1, max_size=8)
one_line = st.lists(st.one_of(pieces, digit_runs), max_size=6).map("".join)


def machine_reads(text: str) -> str | None:
    """The code the machine takes from `text` (the live code is CODE): None when it answers
    Malformed, "another code" for a wrong one."""
    ledger = MemoryLedger(FakeClock(1_800_000_000.0))
    machine = Verification(Policy(), ledger, FakeClock(), make_code=lambda n: OneTimeCode(CODE))
    assert isinstance(machine.submit_address(ADDRESS), SendCode)
    machine.send_succeeded()
    answer = machine.submit_code(text)
    if isinstance(answer, Malformed):
        return None
    return CODE if isinstance(answer, Verified) else "another code"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        one_line.filter(lambda t: t.strip().lower() not in ("", "r", "o")), min_size=1, max_size=8
    )
)
def test_the_entry_takes_from_any_paste_what_the_machine_takes_from_the_same_line(texts):
    read = asyncio.run(tui_reads(texts))
    for text, tui in zip(texts, read, strict=True):
        machine = machine_reads(text)
        if tui is None:
            assert machine is None, text
        else:
            assert machine == (CODE if tui == CODE else "another code"), text


# A guess in flight takes no more typed characters. Nobody answers the code `EntryApp` hears,
# so the guess stays in flight.


async def test_keys_typed_while_a_guess_is_in_flight_are_dropped() -> None:
    app = EntryApp()
    async with app.run_test() as pilot:
        entry = app.query_one(CodeEntry)
        await pilot.press(*"123456")
        await pilot.pause()
        assert app.heard == ["123456"]
        await pilot.press(*"7890" * 50)  # typed after the code went, before any answer
        await pilot.pause()
        assert entry.value == "123456"
        entry.clear_entry()  # the answer came: the next try starts empty
        assert entry.value == ""
        assert app.heard == ["123456"]


async def test_backspace_takes_a_code_in_flight_back_and_typing_goes_on() -> None:
    app = EntryApp()
    async with app.run_test() as pilot:
        entry = app.query_one(CodeEntry)
        await pilot.press(*"123456")
        await pilot.pause()
        await pilot.press("backspace", "9")
        await pilot.pause()
        assert entry.value == "123459"
        assert app.heard == ["123456", "123459"]
