"""Demo mode: an SMTP server on loopback, inside our own event loop, that files mail in a Maildir.

Mail takes the same path as in real use (the real sender, over real SMTP) but never leaves the
machine: the server listens on 127.0.0.1 only and delivers nowhere but the outbox directory.
"""

from __future__ import annotations

import asyncio
import mailbox
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from otp_tui.config.paths import user_state_dir
from otp_tui.config.schema import SmtpSettings

LOOPBACK = "127.0.0.1"


def default_outbox() -> Path:
    return user_state_dir() / "outbox"


def _ensure_maildir(directory: Path) -> mailbox.Maildir:
    # Owner-only: the outbox holds live codes.
    directory.parent.mkdir(parents=True, exist_ok=True)
    for sub in ("", "tmp", "new", "cur"):
        (directory / sub).mkdir(mode=0o700, exist_ok=True)
    return mailbox.Maildir(directory, create=False)


class _MaildirHandler:
    def __init__(self, box: mailbox.Maildir) -> None:
        self._box = box

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content.encode("utf-8") if isinstance(content, str) else content or b""
        self._box.add(raw)
        return "250 Message accepted for delivery"


class _TrackedSMTP(SMTP):
    """aiosmtpd's protocol, remembering live connections so stopping can end them."""

    def __init__(self, handler: Any, live: set[_TrackedSMTP], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._live = live

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._live.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self._live.discard(self)
        super().connection_lost(error)

    @property
    def handler_task(self) -> asyncio.Task[None] | None:
        return self._handler_coroutine


class DemoOutbox:
    """``async with DemoOutbox() as outbox: await send_message(outbox.smtp, message)``."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else default_outbox()
        self._server: asyncio.Server | None = None
        self._live: set[_TrackedSMTP] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self.port = 0

    @property
    def smtp(self) -> SmtpSettings:
        """Settings that send through this outbox."""
        if self._server is None:
            raise RuntimeError("the demo outbox is not running")
        return SmtpSettings(host=LOOPBACK, port=self.port, security="none")

    async def start(self) -> None:
        box = _ensure_maildir(self.directory)
        handler = _MaildirHandler(box)
        loop = asyncio.get_running_loop()

        def factory() -> _TrackedSMTP:
            protocol = _TrackedSMTP(
                handler,
                self._live,
                # Given explicitly: the default, socket.getfqdn(), may query DNS.
                hostname="localhost",
                enable_SMTPUTF8=True,
                loop=loop,
            )
            return protocol

        self._server = await loop.create_server(factory, host=LOOPBACK, port=0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        tasks = [task for p in self._live if (task := p.handler_task) is not None]
        for protocol in list(self._live):
            transport = protocol.transport
            if isinstance(transport, asyncio.WriteTransport):
                transport.abort()
        # The per-connection tasks are cancelled by connection_lost; wait so none outlives us.
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    async def __aenter__(self) -> DemoOutbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


def newest_message(directory: Path | None = None) -> EmailMessage | None:
    """The most recently delivered message in the outbox, or None if there is none."""
    directory = directory if directory is not None else default_outbox()
    newest: tuple[int, str, bytes] | None = None
    for sub in ("new", "cur"):
        folder = directory / sub
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.name.startswith("."):
                continue
            try:
                # Read now: a mail client may move or delete the file at any moment.
                key = (path.stat().st_mtime_ns, path.name)
                if newest is None or key > newest[:2]:
                    newest = (*key, path.read_bytes())
            except (FileNotFoundError, IsADirectoryError):
                continue
    if newest is None:
        return None
    parsed = message_from_bytes(newest[2], policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def plain_text_body(message: EmailMessage) -> str:
    """The text/plain part, for the demo viewer; empty if the message has none."""
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    content = part.get_content()
    if not isinstance(content, str):
        return ""
    # Mail travels with CRLF line ends; a terminal viewer wants plain newlines.
    return content.replace("\r\n", "\n")
