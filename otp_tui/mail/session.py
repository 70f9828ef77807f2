"""One SMTP conversation, step by step, with every failure turned into a SendError.

`send_message` walks all the steps; `otp-tui check` walks them without sending, reporting each.
The steps are explicit (rather than left to aiosmtplib's connect-time STARTTLS and login) so
that a failure is classified by the step it happened in, and so STARTTLS can be required.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
from collections.abc import Awaitable
from email.message import EmailMessage
from enum import Enum
from typing import TypeVar

import aiosmtplib

from otp_tui.config.schema import SmtpSettings
from otp_tui.language import _
from otp_tui.mail.credentials import Login, scrub
from otp_tui.mail.errors import FailureKind, SendError
from otp_tui.mail.message import OutgoingMessage

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
    for _step in range(10):  # chains can, rarely, loop
        if seen is None:
            break
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def tls_cause(error: ssl.SSLError) -> str:
    """The actual cause of a failed TLS set-up, in one sentence for the operator."""
    if isinstance(error, ssl.SSLCertVerificationError):
        code = error.verify_code
        if code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
            return _("The server's certificate does not name this host (a name mismatch).")
        if code == 10:  # X509_V_ERR_CERT_HAS_EXPIRED
            return _("The server's certificate has expired.")
        # 18-21 and the rest: self-signed, an unknown issuer, an incomplete chain.
        return _("The server's certificate is not trusted (not signed by a known authority).")
    return _("The TLS handshake with the server failed.")


def _by_code(code: int, permanent: FailureKind) -> FailureKind:
    return FailureKind.TEMPORARY if 400 <= code < 500 else permanent


def classify(error: Exception, step: Step) -> SendError:
    """Name the kind of a failure that happened during `step`."""
    if isinstance(error, SendError):
        return error
    detail = f"{step.value}: {type(error).__name__}: {error}"
    cause = _ssl_cause(error)
    if cause is not None:
        return SendError(FailureKind.TLS, detail, sentence=tls_cause(cause))
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


# Answers to a password login that mean "passwords are switched off here", not "wrong password":
# Microsoft 365 (5.7.30, 5.7.139 "basic authentication is disabled") and Gmail (5.7.9,
# "application-specific password required").
_NO_PASSWORDS = re.compile(r"5\.7\.(?:30|139|9)\b|basic auth", re.IGNORECASE)


def _password_refused(failure: SendError) -> SendError:
    """A refused password login, with a sentence that points to OAuth2 where it may help."""
    if failure.kind is not FailureKind.AUTH:
        return failure
    if _NO_PASSWORDS.search(failure.detail):
        sentence = _(
            "This mail server no longer accepts passwords: log in with OAuth2 instead "
            "(set smtp.oauth2_token_command)."
        )
    elif re.search(r"\b535\b", failure.detail):
        sentence = _(
            "The mail server refused the SMTP password; if it no longer accepts passwords "
            "(Microsoft 365, Gmail), log in with OAuth2 (smtp.oauth2_token_command)."
        )
    else:
        return failure
    return SendError(FailureKind.AUTH, failure.detail, sentence=sentence)


async def _raise(error: Exception) -> None:
    raise error


async def with_deadline(awaitable: Awaitable[T], seconds: float) -> T:
    """Await with a hard deadline; raises TimeoutError."""
    async with asyncio.timeout(seconds):
        return await awaitable


class Session:
    """A single connection; `close()` must always be called, and is safe to call twice."""

    def __init__(
        self,
        smtp: SmtpSettings,
        tls_context: ssl.SSLContext | None,
        login: Login | None = None,
    ) -> None:
        if smtp.host is None:
            raise ValueError("no SMTP host configured")
        if smtp.username is not None and login is None:
            raise ValueError("a username is configured: obtain_login() first")
        self.settings = smtp
        self.login = login
        self.delivered = False
        self.mechanism: str | None = None  # the AUTH mechanism that worked, for `otp-tui check`
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
            if self.login is not None:
                failure.detail = scrub(failure.detail, self.login.secret)
            if step is Step.AUTH and self.login is not None and not self.login.oauth2:
                failure = _password_refused(failure)
            log.debug("SMTP %s failed (%s): %s", step.value, failure.kind.value, failure.detail)
            raise failure from None

    async def _log_in(self) -> None:
        client, login = self._client, self.login
        assert login is not None
        if not client.supports_extension("auth"):
            raise SendError(FailureKind.AUTH, "AUTH: the server does not offer it")
        if login.oauth2:
            if "xoauth2" not in client.server_auth_methods:
                offered = " ".join(client.server_auth_methods).upper() or "nothing"
                raise SendError(
                    FailureKind.AUTH,
                    f"AUTH: the server offers {offered}, not XOAUTH2",
                    sentence=_("The mail server does not offer OAuth2 login (AUTH XOAUTH2)."),
                )
            await self._run(Step.AUTH, client.auth_xoauth2(login.username, login.secret))
            self.mechanism = "XOAUTH2"
            return
        # aiosmtplib's login() tries the same mechanisms in the same order, but does not say
        # which one worked; `otp-tui check` reports it.
        methods = client.supported_auth_methods
        if not methods:
            offered = " ".join(client.server_auth_methods).upper() or "nothing"
            raise SendError(FailureKind.AUTH, f"AUTH: no password mechanism in {offered}")
        refusal: Exception | None = None
        for name in methods:
            attempt = getattr(client, f"auth_{name.replace('-', '')}")
            try:
                await attempt(login.username, login.secret)
            except aiosmtplib.SMTPAuthenticationError as error:
                refusal = error
                continue
            except Exception as error:
                refusal = error
                break
            self.mechanism = name.upper()
            return
        assert refusal is not None
        await self._run(Step.AUTH, _raise(refusal))

    async def run(self, step: Step, message: EmailMessage | None = None) -> None:
        client = self._client
        if step is Step.CONNECT:
            await self._run(step, client.connect())
        elif step is Step.EHLO:
            await self._run(step, client.ehlo())
        elif step is Step.STARTTLS:
            if not client.supports_extension("starttls"):
                raise SendError(
                    FailureKind.TLS,
                    "STARTTLS: the server does not offer it",
                    sentence=_("The server does not offer STARTTLS, which smtp.security requires."),
                )
            await self._run(step, client.starttls())
            # RFC 3207: everything learnt before the upgrade is forgotten, so greet again.
            await self._run(step, client.ehlo())
        elif step is Step.AUTH:
            await self._log_in()
        elif step is Step.SEND:
            assert isinstance(message, OutgoingMessage)
            # The envelope as built, never read back from the headers.
            envelope = client.send_message(
                message,
                sender=message.envelope_sender,
                recipients=[message.envelope_recipient],
            )
            await self._run(step, envelope)
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
