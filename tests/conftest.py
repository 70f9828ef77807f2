"""Real SMTP servers on 127.0.0.1 for tests: nothing here is a mock, and nothing leaves loopback.

Fixtures (all function-scoped unless noted, all cleaned up at teardown):

``smtp_server``
    A factory: ``server = await smtp_server(tls="starttls", auth=("user", "pw"))`` starts an
    aiosmtpd server on a free loopback port inside the test's event loop. Options:

    - ``tls``: ``"none"`` (plain), ``"starttls"`` (offers and requires STARTTLS) or
      ``"implicit"`` (TLS from the first byte).
    - ``cert``: which certificate to present (default ``tls_certs.good``).
    - ``auth``: ``(username, password)`` to require AUTH with; wrong credentials get 535.
    - ``xoauth2``: ``(username, token)``: also offer AUTH XOAUTH2 (and require AUTH), checking
      the SASL string ``user=...\x01auth=Bearer ...\x01\x01``; a wrong token gets Gmail's
      answer (a 334 challenge with a JSON error, then 535). Without it XOAUTH2 is not offered.
    - ``auth_reply``: the reply to a refused AUTH instead of ``535 5.7.8 ...`` (for a server
      that says ``535 5.7.139 basic authentication is disabled``, or a hostile one).
    - ``rcpt_reply`` / ``data_reply``: an SMTP reply such as ``"550 5.1.1 No such user"``
      or ``"451 4.3.0 Try later"`` given to every RCPT / at the end of DATA instead of 250.
    - ``stall_data``: accept the message text, then never answer.
    - ``reply_delay``: seconds to wait before answering each MAIL and RCPT (a slow drip).
    - ``quit_reply``: answer QUIT with this instead of ``221 Bye``.

    The returned `TestSmtpServer` records what it accepted (``received``: envelope plus the
    parsed message, only for mail it answered 250 to), the MAIL FROMs and AUTH attempts it saw,
    and gives ``settings(**overrides)`` -> `SmtpSettings` pointing at itself with a 1 s
    timeout and the test CA as ``ca_file``.

``silent_listener``
    A factory for a TCP port that accepts connections and never sends a banner.

``closed_port``
    A loopback port that refuses connections (bound, never listening, held for the test).

``stalled_port``
    A loopback port that listens but never accepts (no banner, ever), with no event loop.

``loopback_settings``
    ``loopback_settings(port, **overrides)`` -> `SmtpSettings` for 127.0.0.1:port, plain,
    1 s timeout: for the listeners above, or any server a test starts itself.

Test modules should take what they need from fixtures rather than import this file: pytest
loads it as ``conftest``, and a second import under another name would be a second copy.

``tls_certs`` (session)
    A trustme CA written to disk, a good certificate for 127.0.0.1/localhost, one for another
    host name, and one from a CA the client does not trust.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import ssl
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from otp_tui.config.schema import SmtpSettings

# The tests read English unless one asks for another language: the machine's locale must
# not choose for them (otp-tui follows LANGUAGE, LC_ALL, LC_MESSAGES and LANG).
for _name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_name, None)
os.environ["LANG"] = "C.UTF-8"

LOOPBACK = "127.0.0.1"
TEST_TIMEOUT = 1.0

TlsMode = Literal["none", "starttls", "implicit"]


# --- certificates -------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsCerts:
    ca_file: Path  # the CA the client is told to trust
    good: trustme.LeafCert  # 127.0.0.1 and localhost, signed by that CA
    wrong_host: trustme.LeafCert  # mail.example.invalid only, signed by that CA
    untrusted: trustme.LeafCert  # 127.0.0.1, signed by a CA the client does not know


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory: pytest.TempPathFactory) -> TlsCerts:
    ca = trustme.CA()
    stranger = trustme.CA()
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return TlsCerts(
        ca_file=ca_file,
        good=ca.issue_cert(LOOPBACK, "localhost"),
        wrong_host=ca.issue_cert("mail.example.invalid"),
        untrusted=stranger.issue_cert(LOOPBACK, "localhost"),
    )


def _server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


# --- the aiosmtpd server ------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str | None
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


@dataclass
class TestSmtpServer:
    port: int
    tls: TlsMode
    ca_file: Path | None
    auth: tuple[str, str] | None
    xoauth2: tuple[str, str] | None = None
    received: list[Received] = field(default_factory=list)
    mail_from_seen: list[str] = field(default_factory=list)
    auth_attempts: list[str] = field(default_factory=list)  # usernames only
    data_started: asyncio.Event = field(default_factory=asyncio.Event)
    live: set[_TrackedSMTP] = field(default_factory=set)
    connections_seen: int = 0
    # The live handler: a test may change its replies between sends (e.g. 421, then 250).
    handler: Any = None

    __test__ = False  # not a test class, despite the name

    def settings(self, **overrides: Any) -> SmtpSettings:
        values: dict[str, Any] = {
            "host": LOOPBACK,
            "port": self.port,
            "security": {"none": "none", "starttls": "starttls", "implicit": "tls"}[self.tls],
            "timeout": TEST_TIMEOUT,
            "ca_file": self.ca_file if self.tls != "none" else None,
        }
        if self.auth is not None:
            values["username"], values["password"] = self.auth
        elif self.xoauth2 is not None:
            values["username"] = self.xoauth2[0]
        values.update(overrides)
        return SmtpSettings(**values)

    async def wait_until_idle(self, timeout: float = TEST_TIMEOUT) -> None:
        """Wait, at most `timeout` seconds, until the server holds no open connection."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.live:
            assert loop.time() < deadline, "the server still holds a connection"
            await asyncio.sleep(0.01)


class _TrackedSMTP(SMTP):
    def __init__(self, handler: Any, server: TestSmtpServer, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._server = server

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self not in self._server.live:
            self._server.connections_seen += 1
        self._server.live.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self._server.live.discard(self)
        super().connection_lost(error)


class _RecordingHandler:
    def __init__(
        self,
        server: TestSmtpServer,
        *,
        rcpt_reply: str | None,
        data_reply: str | None,
        stall_data: bool,
        reply_delay: float,
        quit_reply: str | None,
        auth_reply: str | None,
        release: asyncio.Event,
    ) -> None:
        self.server = server
        self.auth_reply = auth_reply
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.stall_data = stall_data
        self.reply_delay = reply_delay
        self.quit_reply = quit_reply
        self.release = release

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        # aiosmtpd offers every auth_NAME method of the handler (unless excluded, as it is
        # when the test did not ask for XOAUTH2); the client sends its string inline.
        assert self.server.xoauth2 is not None
        username, token = self.server.xoauth2
        try:
            sasl = base64.b64decode(args[1], validate=True) if len(args) == 2 else b""
        except ValueError:
            sasl = b""
        fields = sasl.split(b"\x01")
        user = fields[0].removeprefix(b"user=").decode(errors="replace") if fields else ""
        self.server.auth_attempts.append(user)
        expected = f"user={username}\x01auth=Bearer {token}\x01\x01".encode()
        if sasl == expected:
            return AuthResult(success=True)
        # What Gmail does: a challenge holding a JSON error, which the client answers with an
        # empty line, then the refusal.
        error = b'{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}'
        await server.challenge_auth(error)
        # handled=False: aiosmtpd sends the refusal (a handled failure would send nothing).
        return AuthResult(success=False, handled=False, message=self.auth_reply)

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return self.quit_reply or "221 Bye"

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.server.mail_from_seen.append(address)
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.server.data_started.set()
        if self.stall_data:
            await self.release.wait()
        if self.data_reply is not None:
            return self.data_reply
        raw = envelope.original_content or b""
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.server.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed)
        )
        return "250 OK: queued"


def _authenticator(server: TestSmtpServer) -> Callable[..., AuthResult]:
    # A server that only takes XOAUTH2 still offers PLAIN and LOGIN, refusing every password.
    username, password = server.auth or ("", "")

    def check(
        smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        server.auth_attempts.append(data.login.decode())
        if (username, password) != ("", "") and (data.login, data.password) == (
            username.encode(),
            password.encode(),
        ):
            return AuthResult(success=True)
        # handled=False makes aiosmtpd answer 535; handled=True would leave the client waiting.
        return AuthResult(success=False, handled=False, message=server.handler.auth_reply)

    return check


StartServer = Callable[..., Awaitable[TestSmtpServer]]


@pytest.fixture
async def smtp_server(tls_certs: TlsCerts) -> AsyncIterator[StartServer]:
    loop = asyncio.get_running_loop()
    started: list[tuple[asyncio.Server, TestSmtpServer]] = []
    release = asyncio.Event()

    async def start(
        *,
        tls: TlsMode = "none",
        cert: trustme.LeafCert | None = None,
        auth: tuple[str, str] | None = None,
        rcpt_reply: str | None = None,
        data_reply: str | None = None,
        stall_data: bool = False,
        reply_delay: float = 0.0,
        quit_reply: str | None = None,
        xoauth2: tuple[str, str] | None = None,
        auth_reply: str | None = None,
    ) -> TestSmtpServer:
        context = _server_context(cert or tls_certs.good) if tls != "none" else None
        record = TestSmtpServer(
            port=0,
            tls=tls,
            ca_file=tls_certs.ca_file if tls != "none" else None,
            auth=auth,
            xoauth2=xoauth2,
        )
        handler = _RecordingHandler(
            record,
            rcpt_reply=rcpt_reply,
            data_reply=data_reply,
            stall_data=stall_data,
            reply_delay=reply_delay,
            quit_reply=quit_reply,
            auth_reply=auth_reply,
            release=release,
        )
        record.handler = handler
        options: dict[str, Any] = {
            # Given explicitly: the default, socket.getfqdn(), may query DNS.
            "hostname": "localhost",
            "loop": loop,
            "tls_context": context if tls == "starttls" else None,
            "require_starttls": tls == "starttls",
            # aiosmtpd does not count implicit TLS as TLS, and would hide AUTH without this.
            "auth_require_tls": tls != "implicit",
        }
        if auth is not None or xoauth2 is not None:
            options["authenticator"] = _authenticator(record)
            options["auth_required"] = True
        if xoauth2 is None:
            options["auth_exclude_mechanism"] = ["XOAUTH2"]

        def protocol() -> _TrackedSMTP:
            with warnings.catch_warnings():
                # The implicit-TLS server is encrypted; aiosmtpd just cannot tell.
                warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
                return _TrackedSMTP(handler, record, **options)

        server = await loop.create_server(
            protocol,
            host=LOOPBACK,
            port=0,
            ssl=context if tls == "implicit" else None,
        )
        record.port = server.sockets[0].getsockname()[1]
        started.append((server, record))
        return record

    yield start

    release.set()
    for server, record in started:
        server.close()
        tasks = [p._handler_coroutine for p in record.live if p._handler_coroutine is not None]
        for protocol in list(record.live):
            if isinstance(protocol.transport, asyncio.WriteTransport):
                protocol.transport.abort()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


# --- listeners that are not SMTP servers --------------------------------------------------


class _SilentProtocol(asyncio.Protocol):
    def __init__(self, transports: list[asyncio.BaseTransport]) -> None:
        self._transports = transports

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transports.append(transport)


@pytest.fixture
async def silent_listener() -> AsyncIterator[Callable[[], Awaitable[int]]]:
    """``port = await silent_listener()``: accepts, then says nothing, ever."""
    loop = asyncio.get_running_loop()
    servers: list[asyncio.Server] = []
    transports: list[asyncio.BaseTransport] = []

    async def start() -> int:
        server = await loop.create_server(
            lambda: _SilentProtocol(transports), host=LOOPBACK, port=0
        )
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield start

    for server in servers:
        server.close()
    for transport in transports:
        transport.close()
    for server in servers:
        await server.wait_closed()


@pytest.fixture
def closed_port() -> Iterator[int]:
    # Bound but never listening: connecting is refused, and no other test can take the port.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        yield sock.getsockname()[1]


@pytest.fixture
def stalled_port() -> Iterator[int]:
    """A port that listens and never accepts: the kernel completes the handshake, and no banner
    ever comes. Synchronous, for apps that run in a loop of their own (the snapshot tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.fixture
def loopback_settings() -> Callable[..., SmtpSettings]:
    def build(port: int, **overrides: Any) -> SmtpSettings:
        values: dict[str, Any] = {
            "host": LOOPBACK,
            "port": port,
            "security": "none",
            "timeout": TEST_TIMEOUT,
        }
        values.update(overrides)
        return SmtpSettings(**values)

    return build
