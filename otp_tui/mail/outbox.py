"""Demo mode: an SMTP server on loopback, inside our own event loop, that files mail in a Maildir.

Mail takes the same path as in real use (the real sender, over real SMTP) but never leaves the
machine: the server listens on 127.0.0.1 only and delivers nowhere but the outbox directory.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import warnings
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pydantic import SecretStr

from otp_tui.config.paths import user_state_dir
from otp_tui.config.schema import SmtpSettings
from otp_tui.mail.outbox_store import OutboxStore, StoredMail
from otp_tui.mail.viewer import mail_as_text

LOOPBACK = "127.0.0.1"
# The account the outbox makes up each run; the password is new each run and never written.
DEMO_USER = "otp-tui-demo"


def default_outbox() -> Path:
    return user_state_dir() / "outbox"


class _NoMailContent(logging.Filter):
    """aiosmtpd logs each line of a mail at DEBUG; in the outbox those lines carry the code."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_QUIET = _NoMailContent()


class _MaildirHandler:
    def __init__(
        self, store: OutboxStore, filed: list[str], clock: Callable[[], float] | None
    ) -> None:
        self._store = store
        self._filed = filed
        self._clock = clock
        self.pruning: set[asyncio.Task[int]] = set()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not session.authenticated:  # auth_required refuses MAIL already; this is a backstop
            return "530 5.7.0 Authentication required"
        content = envelope.original_content or b""
        now_ns = int(self._clock() * 1e9) if self._clock is not None else None
        self._filed.append(self._store.add(content, now_ns=now_ns))
        # Older mail goes in a thread: the first delivery into a big old outbox removes many.
        task = asyncio.ensure_future(asyncio.to_thread(self._store.prune))
        self.pruning.add(task)
        task.add_done_callback(self.pruning.discard)
        return "250 Message accepted for delivery"


def _only(secret: str) -> Any:
    """An aiosmtpd authenticator that takes the run's account and nothing else."""

    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and hmac.compare_digest(
            data.login + b"\0" + data.password, f"{DEMO_USER}\0{secret}".encode()
        ):
            return AuthResult(success=True)
        # handled=False: aiosmtpd answers 535 (a handled failure would answer nothing).
        return AuthResult(success=False, handled=False)

    return check


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
    """``async with DemoOutbox() as outbox: await send_message(outbox.smtp, message)``.

    Only this run's mail gets in: the server requires a login with a password drawn at start
    and handed out only through `smtp`, so another local process that delivers to the port is
    refused (530 without a login, 535 with a wrong one) and cannot put a mail in the viewer.
    """

    def __init__(
        self, directory: Path | None = None, clock: Callable[[], float] | None = None
    ) -> None:
        """`clock`: wall-clock seconds that stamp when mail arrived (default: the real time)."""
        self.directory = directory if directory is not None else default_outbox()
        self._clock = clock
        self.store = OutboxStore(self.directory)
        self._server: asyncio.Server | None = None
        self._live: set[_TrackedSMTP] = set()
        self._secret = secrets.token_urlsafe(24)
        self._filed: list[str] = []  # names of the mail this run delivered, oldest first
        self._handler: _MaildirHandler | None = None
        self.port = 0

    @property
    def smtp(self) -> SmtpSettings:
        """Settings that send through this outbox, with this run's login."""
        if self._server is None:
            raise RuntimeError("the demo outbox is not running")
        return SmtpSettings(
            host=LOOPBACK,
            port=self.port,
            security="none",
            username=DEMO_USER,
            password=SecretStr(self._secret),
        )

    def newest(self) -> tuple[StoredMail, bool] | None:
        """The newest mail with whether this run sent it: this run's first, else an older one."""
        for name in reversed(self._filed):
            mail = self.store.read(name)
            if mail is not None:
                return mail, True
        mail = self.store.newest()
        return (mail, False) if mail is not None else None

    def newest_as_text(self) -> str | None:
        """What the outbox viewer shows (`viewer.mail_as_text`), or None if it is empty."""
        found = self.newest()
        if found is None:
            return None
        mail, this_run = found
        return mail_as_text(mail.raw, arrived=mail.arrived, this_run=this_run)

    async def start(self) -> None:
        self.store.ensure()
        handler = self._handler = _MaildirHandler(self.store, self._filed, self._clock)
        loop = asyncio.get_running_loop()
        mail_log = logging.getLogger("mail.log")
        if _QUIET not in mail_log.filters:
            mail_log.addFilter(_QUIET)

        def factory() -> _TrackedSMTP:
            with warnings.catch_warnings():
                # Plain text is fine here: the server and the client are on 127.0.0.1.
                warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
                protocol = _TrackedSMTP(
                    handler,
                    self._live,
                    # Given explicitly: the default, socket.getfqdn(), may query DNS.
                    hostname="localhost",
                    enable_SMTPUTF8=True,
                    authenticator=_only(self._secret),
                    auth_required=True,
                    auth_require_tls=False,
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
        if self._handler is not None:
            await asyncio.gather(*self._handler.pruning, return_exceptions=True)

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
    mail = OutboxStore(directory if directory is not None else default_outbox()).newest()
    if mail is None:
        return None
    parsed = message_from_bytes(mail.raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed
