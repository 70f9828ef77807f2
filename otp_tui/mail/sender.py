"""Send one message over a fresh SMTP connection, within a hard deadline."""

from __future__ import annotations

import asyncio
import logging
import ssl
from email.message import EmailMessage
from pathlib import Path

from otp_tui.config.schema import SmtpSettings
from otp_tui.language import N_, _
from otp_tui.mail.credentials import Login, obtain_login
from otp_tui.mail.errors import FailureKind, SendError
from otp_tui.mail.message import OutgoingMessage, check_single_recipient
from otp_tui.mail.session import Session, build_tls_context, planned_steps, with_deadline

log = logging.getLogger(__name__)

# TLS contexts by (ca_file, validate_certs): loading the system trust store takes tens of
# milliseconds, so it is done once per process, and `prepare` can do it before the first send.
_tls_contexts: dict[tuple[Path | None, bool], ssl.SSLContext] = {}


def _tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    key = (smtp.ca_file, smtp.validate_certs)
    context = _tls_contexts.get(key)
    if context is None:
        context = _tls_contexts[key] = build_tls_context(smtp)
    return context


def prepare(smtp: SmtpSettings) -> None:
    """Build the TLS context ahead of the first send (blocking: call it from a thread)."""
    if smtp.host is not None and smtp.security != "none":
        _tls_context(smtp)


# Said when the To header would not name exactly the validated address (an encoded word, a
# list): the address is refused as any other would be, without a word about why.
UNSENDABLE_ADDRESS = N_("This address cannot be used; check it for typos or use another.")


async def send_message(smtp: SmtpSettings, message: EmailMessage) -> None:
    """Deliver `message` (from `build_message`) to the configured server, or raise SendError.

    The envelope is the message's own: MAIL FROM its sender address, RCPT TO its one validated
    recipient, and only after the To header is seen to read back as exactly that address.

    A password or token command configured in `smtp` runs first (see `credentials`). The whole
    conversation, TLS set-up included, must finish within ``smtp.timeout`` seconds:
    aiosmtplib's own timeout applies per read, so a server that drips bytes would never trip
    it. Cancelling the caller aborts the connection at once; no task or socket outlives this
    call.

    A fresh `aiosmtplib.SMTP` client per message rather than `aiosmtplib.send()`: `send()`
    answers a cancellation by awaiting a polite QUIT, which against a stalled server holds
    the cancelled send open for up to another full timeout.
    """
    # Typed as any EmailMessage for callers; only one built here carries an envelope.
    if not isinstance(message, OutgoingMessage):
        raise TypeError("send_message takes the message build_message made")
    try:
        check_single_recipient(message)
    except ValueError as error:
        log.debug("send refused before connecting: %s", error)
        raise SendError(
            FailureKind.RECIPIENT_REFUSED, f"not sent: {error}", sentence=_(UNSENDABLE_ADDRESS)
        ) from None
    session: Session | None = None
    login: Login | None = None

    async def conversation() -> None:
        nonlocal session
        context = None
        if smtp.security != "none":
            # Loading the system trust store reads many files; keep it off the event loop.
            context = await asyncio.to_thread(_tls_context, smtp)
        session = Session(smtp, context, login)
        for step in planned_steps(smtp, send=True):
            await session.run(step, message)

    try:
        # Before the deadline starts: a password or token command has its own time limit
        # (smtp.command_timeout), and no connection is held open while it runs.
        login = await obtain_login(smtp)
        await with_deadline(conversation(), smtp.timeout)
    except SendError as error:
        if session is not None and session.delivered:
            # The server took the message; a failed goodbye does not undo that.
            return
        log.debug("send failed: %s: %s (%s)", error.kind.value, error, error.detail)
        raise
    except TimeoutError:
        if session is not None and session.delivered:
            return
        detail = f"no answer within the {smtp.timeout:g} s deadline"
        log.debug("send failed: timeout: %s", detail)
        raise SendError(FailureKind.TIMEOUT, detail) from None
    finally:
        if session is not None:
            session.close()


__all__ = ["prepare", "send_message"]
