"""The verification email: a plain-text part with an HTML alternative, built from settings."""

from __future__ import annotations

import html
import ipaddress
import os
import socket
from collections.abc import Mapping
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from otp_tui.config.schema import SenderSettings
from otp_tui.core.codes import OneTimeCode

# Demo mode needs no sender address; mail to the loopback outbox still needs a From.
FALLBACK_SENDER = "otp-tui@localhost"

IGNORE_SENTENCE = "If you did not ask for this code, you can ignore this email."


def _single_line(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        # The value is not echoed: it may be attacker-controlled input.
        raise ValueError(f"{name} must not contain line breaks")
    return value


def _validity(ttl_seconds: int) -> str:
    if ttl_seconds < 60:
        return f"{ttl_seconds} seconds" if ttl_seconds != 1 else "1 second"
    # Rounded down: telling someone they have less time than they do is the safe mistake.
    minutes = ttl_seconds // 60
    # Grouped digits, so a huge TTL can never read as a second code-like number.
    return "1 minute" if minutes == 1 else f"{minutes:,} minutes"


def describe_origin(environ: Mapping[str, str] = os.environ, *, hostname: str | None = None) -> str:
    """Where the code was requested from: the host name, plus the SSH client if there is one.

    ``$SSH_CONNECTION`` is "client-ip client-port server-ip server-port"; only a well-formed
    client address is used, so the environment cannot smuggle arbitrary text into the email.
    """
    host = hostname if hostname is not None else socket.gethostname()
    host = host.strip().replace("\r", "").replace("\n", "") or "an unnamed host"
    fields = environ.get("SSH_CONNECTION", "").split()
    if fields:
        try:
            client = ipaddress.ip_address(fields[0])
        except ValueError:
            return host
        return f"{host} (over SSH from {client})"
    return host


def build_message(
    sender: SenderSettings,
    to: str,
    code: OneTimeCode,
    *,
    ttl_seconds: int,
    requested_from: str,
    now: datetime | None = None,
) -> EmailMessage:
    """Build the message carrying `code` to `to`.

    Raises ValueError, before any message exists, if a header value holds a line break or the
    code is not all digits.
    """
    _single_line("recipient address", to)
    _single_line("sender name", sender.name)
    _single_line("subject", sender.subject)
    from_address = _single_line("sender address", sender.address or FALLBACK_SENDER)
    requested_from = _single_line("origin", requested_from)
    # The one place the digits are read out of the code: they exist in the clear only inside
    # the message from here on.
    digits = code.reveal()
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("code must be ASCII digits")

    from_local, _, from_domain = from_address.rpartition("@")
    message = EmailMessage()
    message["From"] = Address(display_name=sender.name, username=from_local, domain=from_domain)
    message["To"] = to
    message["Subject"] = sender.subject
    message["Date"] = format_datetime(now or datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=from_domain)
    # Tells auto-responders and vacation replies not to answer (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"

    validity = _validity(ttl_seconds)
    message.set_content(
        "Your verification code is:\n"
        "\n"
        f"{digits}\n"
        "\n"
        f"It is valid for {validity}.\n"
        f"It was requested from {requested_from}.\n"
        "\n"
        f"{IGNORE_SENTENCE}\n"
    )
    # Colours are named, not hex: "#333333" would be another six-digit number in the body.
    message.add_alternative(
        "<!DOCTYPE html>\n"
        '<html><body style="font-family: sans-serif; color: black">\n'
        "<p>Your verification code is:</p>\n"
        '<p style="font-size: 2em; font-family: monospace; letter-spacing: 0.2em">'
        f"<strong>{digits}</strong></p>\n"
        f"<p>It is valid for {html.escape(validity)}.<br>\n"
        f"It was requested from {html.escape(requested_from)}.</p>\n"
        f'<p style="color: dimgray">{html.escape(IGNORE_SENTENCE)}</p>\n'
        "</body></html>\n",
        subtype="html",
    )
    return message
