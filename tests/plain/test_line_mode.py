"""The line mode's own logic, in process: what it says when the clocks alone move.

The run is built by the program's own factory (`make_run`) with a fake clock; the line mode
reads a real pseudo-terminal (the test types on the other end) and the send goes to a real
aiosmtpd server on loopback. Nothing waits for time to pass: the test moves the clock and waits
only for the line that must follow. Exit statuses, signals and whole journeys are tested against
the real program in `tests/e2e/test_plain.py`.
"""

from __future__ import annotations

import asyncio
import io
import os
import socket
import termios
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeClock

from otp_tui.config.schema import PolicySettings, SenderSettings, Settings, SmtpSettings
from otp_tui.core.codes import OneTimeCode
from otp_tui.core.limits import MemoryLedger
from otp_tui.flow import wording
from otp_tui.flow.build import make_run
from otp_tui.flow.run import Run
from otp_tui.plain.line_mode import LineMode

CODE = "204913"
ADDRESS = "bob@example.com"
WAIT = 5.0  # seconds a line may take to appear: real I/O, never the clock


class Session:
    """One line mode on one pseudo-terminal, with the run's clock in the test's hands."""

    def __init__(self, run: Run, clock: FakeClock, master: int, slave: int) -> None:
        self.run = run
        self.clock = clock
        self.out = io.StringIO()
        self._master = master
        self.line_mode = LineMode(run, self.out, fd=slave, install_signals=False, tick=0.01)
        self._mark = 0

    def type(self, line: str) -> None:
        os.write(self._master, line.encode() + b"\n")

    def keys(self, keys: str) -> None:
        """Keys without Enter: a line half typed."""
        os.write(self._master, keys.encode())

    def end_input(self) -> None:
        os.write(self._master, b"\x04")  # Ctrl+D on an empty line: end of input

    async def expect(self, text: str) -> None:
        """Wait for `text` in what was printed since the last match."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while (found := self.out.getvalue().find(text, self._mark)) < 0:
            assert loop.time() < deadline, f"never saw {text!r} in:\n{self.out.getvalue()}"
            await asyncio.sleep(0.01)
        self._mark = found + len(text)

    def count(self, text: str) -> int:
        return self.out.getvalue().count(text)


@pytest.fixture
def pty_pair(request: pytest.FixtureRequest) -> Iterator[tuple[int, int]]:
    # (the end the test writes, the end the line mode reads): a terminal, or with the
    # parameter "pipe", a pipe, as a script would feed it.
    if getattr(request, "param", "pty") == "pipe":
        read, write = os.pipe()
        master, slave = write, read
    else:
        master, slave = os.openpty()
        if getattr(request, "param", "pty") == "pty without echo":
            mode = termios.tcgetattr(slave)
            mode[3] &= ~termios.ECHO
            termios.tcsetattr(slave, termios.TCSANOW, mode)
    try:
        yield master, slave
    finally:
        os.close(master)
        os.close(slave)


@pytest.fixture
def session(tmp_path: Path, pty_pair: tuple[int, int]) -> Callable[..., Session]:
    def build(smtp: SmtpSettings | None = None, **policy: Any) -> Session:
        clock = FakeClock()
        wall = FakeClock(1_800_000_000.0)
        settings = Settings(
            smtp=smtp or SmtpSettings(),
            sender=SenderSettings(address="otp@example.com"),
            policy=PolicySettings(**policy),
        )
        run = make_run(
            settings,
            email=None,
            demo=smtp is None,
            ledger=MemoryLedger(wall),
            clock=clock,
            wall_clock=wall,
            make_code=lambda length: OneTimeCode(CODE),
            origin="test-host",
            outbox_dir=tmp_path / "outbox",
        )
        return Session(run, clock, *pty_pair)

    return build


async def test_the_expiry_is_said_once_when_it_happens_and_r_then_sends_anew(
    session: Callable[..., Session],
) -> None:
    s = session(code_ttl=300)
    main = asyncio.create_task(s.line_mode.main())
    await s.expect(wording.plain_address_prompt())
    s.type(ADDRESS)
    await s.expect(wording.plain_code_prompt())

    s.clock.advance(301)  # nobody types: the ticker alone notices
    await s.expect(wording.plain_expired())
    await s.expect(wording.plain_code_prompt())  # asked again below the interjection
    s.type("")
    await s.expect("The code has expired. Type r for a new code")
    assert s.count(wording.plain_expired()) == 1
    assert "ctrl+r" not in s.out.getvalue()  # the TUI's key is never named here

    s.type("r")
    await s.expect(wording.sending_to(ADDRESS, None))
    await s.expect("Code expires in 5:00.")
    s.type(CODE)
    await s.expect(f"{wording.verified()}. {ADDRESS} is confirmed")
    await asyncio.wait_for(main, WAIT)
    assert s.run.ending is not None
    assert (s.run.ending.result.reason, s.run.ending.result.sends) == ("verified", 2)


async def test_a_slow_send_says_how_long_it_has_taken(
    session: Callable[..., Session], smtp_server: Callable[..., Awaitable[Any]]
) -> None:
    server = await smtp_server(stall_data=True)  # takes the message, never answers
    s = session(server.settings(timeout=30))
    main = asyncio.create_task(s.line_mode.main())
    await s.expect(wording.plain_address_prompt())
    s.type(ADDRESS)
    await s.expect(f"Sending a code to {ADDRESS} via 127.0.0.1")

    s.clock.advance(5)
    await s.expect("Still sending: 5 s of 30 s.")
    s.clock.advance(4)
    s.type("")  # an empty line while sending: how long it has taken, now
    await s.expect("Still sending: 9 s of 30 s.")
    s.clock.advance(1)
    await s.expect("Still sending: 10 s of 30 s.")
    assert s.count("Still sending") == 3

    s.end_input()  # Ctrl+D while the send is in flight: it is abandoned, the run not verified
    await asyncio.wait_for(main, WAIT)
    assert s.run.ending is not None
    assert (s.run.ending.verified, s.run.ending.result.reason) == (False, "cancelled")


async def test_after_the_send_it_names_the_sender_and_the_spam_folder(
    session: Callable[..., Session], smtp_server: Any
) -> None:
    server = await smtp_server()
    s = session(server.settings())
    main = asyncio.create_task(s.line_mode.main())
    await s.expect(wording.plain_address_prompt())
    s.type(ADDRESS)
    await s.expect(
        f"It comes from {socket.gethostname()} <otp@example.com>; if it is not in your inbox, "
        "look in the spam folder."
    )
    await s.expect(wording.plain_code_prompt())
    s.type(CODE)
    await s.expect("Verified")
    await asyncio.wait_for(main, WAIT)


async def test_a_notice_while_typing_leaves_the_half_typed_line_whole_and_editable(
    session: Callable[..., Session],
) -> None:
    s = session(code_ttl=300)
    main = asyncio.create_task(s.line_mode.main())
    await s.expect(wording.plain_address_prompt())
    s.type(ADDRESS)
    await s.expect("Ctrl+D quits.")
    prompt = wording.plain_code_prompt()
    s.keys("x\x7fr")  # x, Backspace, r: the screen shows "r" after the prompt
    await s.expect(prompt + "r")

    s.clock.advance(301)  # the expiry is said where the line was, then the line again below
    await s.expect("\r" + " " * len(prompt + "r") + "\r" + wording.plain_expired() + "\n")
    await s.expect(prompt + "r")
    s.type("")  # Enter: the line as it was typed before the notice, "r", asks for a new code
    await s.expect(wording.sending_to(ADDRESS, None))
    await s.expect("Code expires in 5:00.")
    s.type(CODE)
    await s.expect("Verified")
    await asyncio.wait_for(main, WAIT)
    assert s.run.ending is not None
    assert s.run.ending.result.sends == 2


async def test_another_address_at_the_code_prompt_is_sent_at_once_and_the_same_one_is_not(
    session: Callable[..., Session],
) -> None:
    # A typo is free: the corrected address waits for no cooldown, as in the full screen.
    s = session(resend_cooldown=60)
    main = asyncio.create_task(s.line_mode.main())
    await s.expect(wording.plain_address_prompt())
    s.type("bob@exmaple.com")
    await s.expect("or type another address to send a code there instead.")
    await s.expect(wording.plain_code_prompt())
    s.type(" bob@example.com ")
    await s.expect(wording.sending_to(ADDRESS, None))
    await s.expect(wording.plain_code_prompt())
    s.type(ADDRESS)  # the address the code went to: back to that code, nothing sent
    await s.expect("You already have a code")
    await s.expect(wording.plain_code_prompt())
    s.type(CODE)
    await s.expect(f"{wording.verified()}. {ADDRESS} is confirmed")
    await asyncio.wait_for(main, WAIT)
    assert s.run.ending is not None
    result = s.run.ending.result
    assert (result.reason, result.email, result.sends, result.wrong_attempts) == (
        "verified",
        ADDRESS,
        2,
        0,
    )


@pytest.mark.parametrize("pty_pair", ["pipe"], indirect=True)
async def test_from_a_pipe_it_reads_line_by_line_and_draws_nothing(
    session: Callable[..., Session],
) -> None:
    s = session()
    main = asyncio.create_task(s.line_mode.main())
    await s.expect(wording.plain_address_prompt())
    s.type(ADDRESS)
    await s.expect(wording.plain_code_prompt())
    s.type(CODE)
    await s.expect(f"{wording.verified()}. {ADDRESS} is confirmed")
    await asyncio.wait_for(main, WAIT)
    assert "\b" not in s.out.getvalue()
    assert "\r" not in s.out.getvalue()  # no line to edit: nothing is drawn but the text


@pytest.mark.parametrize("pty_pair", ["pty without echo"], indirect=True)
async def test_a_terminal_without_echo_is_left_alone_and_nothing_is_drawn(
    session: Callable[..., Session], pty_pair: tuple[int, int]
) -> None:
    # Emacs' shell buffer: it turns the echo off, edits the line itself and sends it whole.
    _, slave = pty_pair
    before = termios.tcgetattr(slave)
    s = session()
    main = asyncio.create_task(s.line_mode.main())
    await s.expect("We will email you a 6-digit code.")
    assert termios.tcgetattr(slave) == before  # the terminal's own line editing stays
    s.type(ADDRESS)
    await s.expect(wording.plain_address_prompt() + wording.sending_to(ADDRESS, None))
    await s.expect(wording.plain_code_prompt())
    s.type(CODE)
    await s.expect(f"{wording.verified()}. {ADDRESS} is confirmed")
    await asyncio.wait_for(main, WAIT)
    assert "\b" not in s.out.getvalue()


async def test_a_failure_while_reading_ends_the_run_unverified_in_one_line(
    session: Callable[..., Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from otp_tui.plain.line_editor import LineEditor

    def broken(self: LineEditor, data: str) -> object:
        raise RuntimeError("the line typed: " + data)

    s = session()
    monkeypatch.setattr(LineEditor, "feed", broken)
    main = asyncio.create_task(s.line_mode.main())
    await s.expect(wording.plain_address_prompt())
    s.type(ADDRESS)
    await s.expect("Not verified")
    await asyncio.wait_for(main, WAIT)
    assert s.line_mode.error == wording.unexpected_error("RuntimeError")
    assert s.run.ending is not None
    assert s.run.ending.result.reason == "cancelled"
    assert ADDRESS not in s.out.getvalue()  # nothing of the line reached the screen
