"""Demo mode: real SMTP over loopback into a Maildir, and reading the newest message back."""

from __future__ import annotations

import asyncio
import mailbox
import stat
from email.message import EmailMessage
from pathlib import Path

import pytest

from otp_tui.config.schema import SenderSettings
from otp_tui.core.codes import OneTimeCode
from otp_tui.mail.message import build_message
from otp_tui.mail.outbox import DemoOutbox, newest_message, plain_text_body
from otp_tui.mail.sender import send_message


def message_for(code: str, to: str = "new.user@example.com") -> EmailMessage:
    return build_message(
        SenderSettings(), to, OneTimeCode(code), ttl_seconds=600, requested_from="laptop"
    )


async def test_sent_mail_lands_in_the_outbox(tmp_path: Path) -> None:
    directory = tmp_path / "state" / "outbox"
    async with DemoOutbox(directory) as outbox:
        assert outbox.smtp.host == "127.0.0.1"
        assert outbox.smtp.security == "none"
        await send_message(outbox.smtp, message_for("731904"))

    box = mailbox.Maildir(directory, create=False)
    assert len(box) == 1
    newest = newest_message(directory)
    assert newest is not None
    assert newest["To"] == "new.user@example.com"
    assert "731904" in plain_text_body(newest)
    assert "<" not in plain_text_body(newest), "the viewer gets the text part, not the HTML"


async def test_newest_message_is_the_latest_send(tmp_path: Path) -> None:
    async with DemoOutbox(tmp_path) as outbox:
        await send_message(outbox.smtp, message_for("111111"))
        await send_message(outbox.smtp, message_for("222222"))
        newest = newest_message(tmp_path)
        assert newest is not None
        assert "222222" in plain_text_body(newest)
        await send_message(outbox.smtp, message_for("333333"))
        newest = newest_message(tmp_path)
    assert newest is not None
    assert "333333" in plain_text_body(newest)


async def test_outbox_is_private(tmp_path: Path) -> None:
    directory = tmp_path / "outbox"
    async with DemoOutbox(directory):
        pass
    for sub in (directory, directory / "new", directory / "cur", directory / "tmp"):
        assert stat.S_IMODE(sub.stat().st_mode) == 0o700


def test_no_outbox_yet(tmp_path: Path) -> None:
    assert newest_message(tmp_path / "missing") is None
    (tmp_path / "empty" / "new").mkdir(parents=True)
    assert newest_message(tmp_path / "empty") is None


async def test_non_ascii_recipient_reaches_the_outbox(tmp_path: Path) -> None:
    async with DemoOutbox(tmp_path) as outbox:
        await send_message(outbox.smtp, message_for("404404", to="zoë@exämple.com"))
    newest = newest_message(tmp_path)
    assert newest is not None
    assert newest["To"] == "zoë@exämple.com"


async def test_stopping_ends_open_connections(tmp_path: Path) -> None:
    outbox = DemoOutbox(tmp_path)
    await outbox.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", outbox.port)
    assert (await reader.readline()).startswith(b"220 ")
    await outbox.stop()
    # The server hung up on us: the next read sees end of file, not a wait.
    assert await asyncio.wait_for(reader.read(), 1.0) == b""
    writer.close()
    await writer.wait_closed()
    with pytest.raises(ConnectionError):
        await asyncio.open_connection("127.0.0.1", outbox.port)
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []


async def test_settings_need_a_running_outbox(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        _ = DemoOutbox(tmp_path).smtp
