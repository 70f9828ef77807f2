"""Builds the app the way `otp_tui.tui.launch` does, with the clocks and ledger in the test's hands.

Everything else is real: the sender talks SMTP to a real server on 127.0.0.1, the demo outbox
is a real aiosmtpd server and Maildir.
"""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from fakes import FakeClock

from otp_tui.config.schema import PolicySettings, SenderSettings, Settings, SmtpSettings
from otp_tui.core.codes import OneTimeCode
from otp_tui.core.limits import LimitsLedger, MemoryLedger
from otp_tui.flow.build import make_run
from otp_tui.flow.run import Run
from otp_tui.tui.app import OtpApp
from otp_tui.tui.launch import build_app as build_program_app

# 2026-01-01 12:00:00 UTC: a wall clock that reads the same in every snapshot.
WALL_START = 1_767_268_800.0
SENDER = SenderSettings(address="otp@example.com", name="otp-tui tests", service="test-host")


@dataclass
class Harness:
    app: OtpApp
    run: Run
    clock: FakeClock
    wall: FakeClock
    ledger: LimitsLedger


def build_app(
    *,
    smtp: SmtpSettings | None = None,
    demo: bool = False,
    email: str | None = None,
    outbox_dir: Path | None = None,
    policy: dict[str, Any] | None = None,
    code: str | None = None,
    ledger: LimitsLedger | None = None,
    wall: FakeClock | None = None,
    audit: Any = None,
    login_user: str | None = None,
) -> Harness:
    """The app as the program builds it (`otp_tui.flow.build.make_run` and
    `otp_tui.tui.launch.build_app`), with the clocks, the ledger and the code in the test's
    hands."""
    clock = FakeClock()
    wall = wall or FakeClock(WALL_START)
    settings = Settings(
        smtp=smtp or SmtpSettings(),
        sender=SENDER,
        policy=PolicySettings(**(policy or {})),
    )
    ledger = ledger or MemoryLedger(wall)
    run = make_run(
        settings,
        email=email,
        demo=demo,
        ledger=ledger,
        clock=clock,
        wall_clock=wall,
        audit=audit,
        make_code=(lambda length: OneTimeCode(code)) if code else None,
        origin="test-host",
        login_user=login_user,
        outbox_dir=outbox_dir,
    )
    app = build_program_app(run)
    # Set on the app itself: the snapshot plugin imports Textual before any conftest runs, so
    # TEXTUAL_ANIMATIONS in the environment comes too late to count.
    app.animation_level = "none"
    return Harness(app, run, clock, wall, ledger)


async def wait_for(pilot: Any, condition: Any, timeout: float = 5.0) -> None:
    """Wait for real I/O (an SMTP exchange) to land; bounded, and never for time to pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"gave up waiting; screen is {pilot.app.screen!r}"
        await pilot.pause(0.02)
    await pilot.pause()  # let a screen that just arrived finish composing


def code_in(message: EmailMessage, length: int = 6) -> str:
    """Read the code out of a message as a person reads their mail."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.findall(rf"^(\d{{{length}}})\s*$", body.get_content(), re.MULTILINE)
    assert len(found) == 1, found
    return found[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


class ThreadedSmtpServer:
    """A real SMTP server in its own thread, for snapshot tests whose app runs in its own loop."""

    def __init__(self) -> None:
        self.inbox = _Inbox()
        # An explicit loopback host and port: Controller(port=0) does not work, and no
        # hostname would bind ::1.
        self._controller = Controller(
            self.inbox, hostname="127.0.0.1", port=free_port(), server_hostname="localhost"
        )

    def __enter__(self) -> ThreadedSmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def settings(self) -> SmtpSettings:
        return SmtpSettings(
            host="127.0.0.1", port=self._controller.port, security="none", timeout=5
        )
