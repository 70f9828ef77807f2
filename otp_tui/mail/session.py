"""One SMTP conversation, step by step, with every failure turned into a SendError.

`send_message` walks all the steps; `otp-tui check` walks them without sending, reporting each.
The steps are explicit (rather than left to aiosmtplib's connect-time STARTTLS and login) so
that a failure is classified by the step it happened in, and so STARTTLS can be required.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import sys
from collections.abc import Awaitable
from email.message import EmailMessage
from enum import Enum
from typing import TypeVar

import aiosmtplib

from otp_tui.config.schema import SmtpSettings
from otp_tui.mail.errors import FailureKind, SendError

log = logging.getLogger(__name__)

T = TypeVar("T")


class Step(Enum):
    CONNECT = "connect"
    EHLO = "EHLO"
    STARTTLS = "STARTTLS"
    AUTH = "AUTH"
    SEND = "send"
    QUIT = "QUIT"


def planned_steps(smtp: SmtpSettings, *, send: bool) -> list[Step]:
    steps = [Step.CONNECT, Step.EHLO]
    if smtp.security == "starttls":
        steps.append(Step.STARTTLS)
    if smtp.username is not None:
        steps.append(Step.AUTH)
    if send:
        steps.append(Step.SEND)
    steps.append(Step.QUIT)
    return steps


def build_tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    """The system trust store plus `ca_file`; no checks at all if `validate_certs` is off."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if not smtp.validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if smtp.ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(smtp.ca_file))
        except (OSError, ssl.SSLError) as error:
            raise SendError(
                FailureKind.TLS, f"cannot load ca_file {smtp.ca_file}: {error}"
            ) from None
    return context


def _ehlo_name() -> str:
    # socket.getfqdn() (aiosmtplib's default) may query DNS and can stall for seconds on a
    # badly configured machine; the plain host name is enough for an EHLO greeting.
    name = socket.gethostname().strip()
    usable = name.isascii() and name.isprintable() and not any(c.isspace() for c in name)
    return name if name and usable else "localhost"


def _ssl_cause(error: BaseException) -> ssl.SSLError | None:
    # aiosmtplib wraps a failed implicit-TLS handshake in SMTPConnectError; STARTTLS lets
    # ssl.SSLCertVerificationError through bare. Either way the SSL error is in the chain.
    seen: BaseException | None = error
    for _ in range(10):  # chains can, rarely, loop
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _by_code(code: int, permanent: FailureKind) -> FailureKind:
    return FailureKind.TEMPORARY if 400 <= code < 500 else permanent


def classify(error: Exception, step: Step) -> SendError:
    """Name the kind of a failure that happened during `step`."""
    if isinstance(error, SendError):
        return error
    detail = f"{step.value}: {type(error).__name__}: {error}"
    if _ssl_cause(error) is not None:
        return SendError(FailureKind.TLS, detail)
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in error.recipients]
        detail = f"{step.value}: RCPT refused: " + "; ".join(
            f"{refused.code} {refused.message}" for refused in error.recipients
        )
        if codes and all(400 <= code < 500 for code in codes):
            return SendError(FailureKind.TEMPORARY, detail)
        return SendError(FailureKind.RECIPIENT_REFUSED, detail)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        detail = f"{step.value}: {error.code} {error.message}"
        permanent = {
            Step.AUTH: FailureKind.AUTH,
            Step.STARTTLS: FailureKind.TLS,
        }.get(step, FailureKind.REJECTED)
        return SendError(_by_code(error.code, permanent), detail)
    # Timeouts before disconnects: SMTPConnectTimeoutError is both.
    if isinstance(error, (TimeoutError, asyncio.TimeoutError)):
        return SendError(FailureKind.TIMEOUT, detail)
    if step is Step.STARTTLS and isinstance(error, ConnectionError):
        # A server that drops us mid-handshake is refusing TLS, and retrying will not change it.
        return SendError(FailureKind.TLS, detail)
    if isinstance(error, aiosmtplib.SMTPConnectError) or (
        step is Step.CONNECT and isinstance(error, OSError)
    ):
        return SendError(FailureKind.UNREACHABLE, detail)
    if isinstance(error, (aiosmtplib.SMTPServerDisconnected, ConnectionError)):
        # Dropped mid-conversation: usually an overloaded or restarting server.
        return SendError(FailureKind.TEMPORARY, detail)
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        return SendError(FailureKind.REJECTED, detail)
    if isinstance(error, aiosmtplib.SMTPException):
        fallback = {Step.AUTH: FailureKind.AUTH, Step.STARTTLS: FailureKind.TLS}
        return SendError(fallback.get(step, FailureKind.REJECTED), detail)
    if isinstance(error, OSError):
        return SendError(FailureKind.UNREACHABLE, detail)
    raise error


async def with_deadline(awaitable: Awaitable[T], seconds: float) -> T:
    """Await with a hard deadline; raises TimeoutError (asyncio.TimeoutError before 3.11)."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)  # pragma: no cover - 3.10 only


class Session:
    """A single connection; `close()` must always be called, and is safe to call twice."""

    def __init__(self, smtp: SmtpSettings, tls_context: ssl.SSLContext | None) -> None:
        if smtp.host is None:
            raise ValueError("no SMTP host configured")
        self.settings = smtp
        self.delivered = False
        self._client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.effective_port,
            local_hostname=_ehlo_name(),
            timeout=smtp.timeout,
            use_tls=smtp.security == "tls",
            # Never let aiosmtplib upgrade or log in on its own: each is its own step here.
            start_tls=False,
            tls_context=tls_context,
        )

    async def _run(self, step: Step, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except Exception as error:
            failure = classify(error, step)
            log.debug("SMTP %s failed (%s): %s", step.value, failure.kind.value, failure.detail)
            raise failure from None

    async def run(self, step: Step, message: EmailMessage | None = None) -> None:
        client = self._client
        if step is Step.CONNECT:
            await self._run(step, client.connect())
        elif step is Step.EHLO:
            await self._run(step, client.ehlo())
        elif step is Step.STARTTLS:
            if not client.supports_extension("starttls"):
                raise SendError(FailureKind.TLS, "STARTTLS: the server does not offer it")
            await self._run(step, client.starttls())
            # RFC 3207: everything learnt before the upgrade is forgotten, so greet again.
            await self._run(step, client.ehlo())
        elif step is Step.AUTH:
            if not client.supports_extension("auth"):
                raise SendError(FailureKind.AUTH, "AUTH: the server does not offer it")
            password = self.settings.password
            secret = password.get_secret_value() if password is not None else ""
            assert self.settings.username is not None
            await self._run(step, client.login(self.settings.username, secret))
        elif step is Step.SEND:
            assert message is not None
            await self._run(step, client.send_message(message))
            self.delivered = True
        elif step is Step.QUIT:
            await self._run(step, client.quit())

    def close(self) -> None:
        # Abort, not a polite close: after a failure or a cancel nothing more is worth sending,
        # and a close would wait, socket open, for a stalled peer to drain the write buffer.
        transport = self._client.transport
        if isinstance(transport, asyncio.WriteTransport) and not transport.is_closing():
            transport.abort()
        self._client.close()
