"""The verification email: a plain-text part with an HTML alternative, built from settings."""

from __future__ import annotations

import html
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import HeaderParser
from email.utils import format_datetime, make_msgid
from pathlib import Path

from otp_tui.config.schema import FALLBACK_SENDER, SenderSettings
from otp_tui.core.codes import OneTimeCode
from otp_tui.language import _, current, ngettext, pgettext

__all__ = ["FALLBACK_SENDER", "Origin", "OutgoingMessage", "build_message", "origin_here"]


class OutgoingMessage(EmailMessage):
    """A verification mail that carries its own envelope.

    The envelope is decided here, from the validated address, and `send_message` uses it as
    it is: recipients are never derived by parsing the headers, where an encoded word in an
    address could turn into another mailbox or into several.
    """

    envelope_sender = ""
    envelope_recipient = ""


def _flattened_recipients(message: EmailMessage, *, utf8: bool) -> list[str]:
    # The To header as the sender will put it on the wire (aiosmtplib flattens with the SMTP
    # or SMTPUTF8 policy), parsed back the way a receiving server would.
    header = message["To"]
    wire = header.fold(policy=policy.SMTPUTF8 if utf8 else policy.SMTP)
    parsed = HeaderParser(policy=policy.default).parsestr(wire + "\r\n")["To"]
    if parsed is None:
        return []
    return [address.addr_spec for address in parsed.addresses]


def check_single_recipient(message: OutgoingMessage) -> str:
    """The one envelope recipient, once the To header is seen to name exactly it.

    Raises ValueError (without echoing the address) if the header reads as another address or
    as several, in either form the message can travel in.
    """
    recipient = message.envelope_recipient
    if not recipient or len(message.get_all("To", [])) != 1:
        raise ValueError("the message has no single To header")
    for utf8 in (False, True):
        if _flattened_recipients(message, utf8=utf8) != [recipient]:
            raise ValueError("the To header does not read back as the one recipient")
    return recipient


def _single_line(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        # The value is not echoed: it may be attacker-controlled input.
        raise ValueError(f"{name} must not contain line breaks")
    return value


def _validity(ttl_seconds: int) -> str:
    if ttl_seconds < 60:
        return ngettext("{count} second", "{count} seconds", ttl_seconds).format(count=ttl_seconds)
    # Rounded down: telling someone they have less time than they do is the safe mistake.
    minutes = ttl_seconds // 60
    # Grouped digits, so a huge TTL can never read as a second code-like number.
    # TRANSLATORS: the separator between groups of three digits in a large number.
    grouped = f"{minutes:,}".replace(",", pgettext("thousands separator", ","))
    return ngettext("{count} minute", "{count} minutes", minutes).format(count=grouped)


def _local_time(moment: datetime) -> str:
    # Hours and minutes in this host's zone: what a person compares with their clock.
    return moment.astimezone().strftime("%H:%M")


@dataclass(frozen=True)
class Origin:
    """Where a code was asked for, as the mail tells it.

    `host` is the machine the code was asked on; `client` the SSH client's address, if any;
    `login_user` is set by a run that lets someone log in (the gate, the PAM conversation): the
    account they are logging in as, so the mail can say so and what to do if it was not them.
    """

    host: str
    client: str | None = None
    login_user: str | None = None

    def summary(self) -> str:
        """The host, plus the SSH client if there is one: an operator's `requested_from`."""
        if self.client is None:
            return self.host
        return _("{host} (over SSH from {client})").format(host=self.host, client=self.client)


def origin_here(
    environ: Mapping[str, str] = os.environ,
    *,
    hostname: str | None = None,
    login_user: str | None = None,
) -> Origin:
    """This host and the SSH client that asked, from ``$SSH_CONNECTION``.

    ``$SSH_CONNECTION`` is "client-ip client-port server-ip server-port"; only a well-formed
    client address is used, so the environment cannot smuggle arbitrary text into the email.
    """
    host = hostname if hostname is not None else socket.gethostname()
    host = "".join(char for char in host if char.isprintable()).strip()
    from otp_tui.core.ssh_client import client_address

    client = client_address(environ.get("SSH_CONNECTION"))
    return Origin(host or _("an unnamed host"), client, login_user)


def describe_origin(environ: Mapping[str, str] = os.environ, *, hostname: str | None = None) -> str:
    """Where the code was requested from: the host name, plus the SSH client if there is one."""
    return origin_here(environ, hostname=hostname).summary()


def build_message(
    sender: SenderSettings,
    to: str,
    code: OneTimeCode,
    *,
    ttl_seconds: int,
    requested_from: Origin | str,
    now: datetime | None = None,
    templates: Path | None = None,
    language: str | None = None,
) -> OutgoingMessage:
    """Build the message carrying `code` to `to`, with `to` as its one envelope recipient.

    `requested_from` is where the code was asked for (a plain string is taken as the host).
    `templates` is ``[mail] templates``: the operator's subject and parts, where present, replace
    the built-in ones (`otp_tui.config.templates`); `language` (the run's, by default) picks
    ``templates/<language>/`` first and is the language of the built-in text. Raises
    ValueError, before any message exists, if a header value holds a line break, the code is
    not all digits, or a template breaks one of its rules.
    """
    origin = requested_from if isinstance(requested_from, Origin) else Origin(requested_from)
    _single_line("recipient address", to)
    service = _single_line("service name", sender.service_name)
    from_name = _single_line("sender name", sender.from_name)
    language = language or current()
    # The built-in subject speaks the run's language and names the service; one the operator
    # wrote is theirs, as written.
    if "subject" in sender.model_fields_set:
        subject = sender.subject
    else:
        subject = _(sender.subject).format(service=service)
    _single_line("subject", subject)
    from_address = _single_line("sender address", sender.address or FALLBACK_SENDER)
    for part in (origin.host, origin.client or "", origin.login_user or ""):
        _single_line("origin", part)
    # The one place the digits are read out of the code: they exist in the clear only inside
    # the message from here on.
    digits = code.reveal()
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError("code must be ASCII digits")

    sent_at = now or datetime.now(UTC)
    validity = _validity(ttl_seconds)
    text: str | None = None
    html_part: str | None = None
    if templates is not None:
        from otp_tui.config.templates import render

        values = {
            "code": digits,
            "minutes": ttl_seconds // 60,
            "expires_at": _local_time(sent_at + timedelta(seconds=ttl_seconds)),
            "address": to,
            "sender_name": from_name,
            "requested_from": origin.summary(),
            "service": service,
            "host": origin.host,
            "client": origin.client or "",
            "login_user": origin.login_user or "",
        }
        rendered = render(templates, values, language=language)
        subject = rendered.subject or subject
        text, html_part = rendered.text, rendered.html

    from_local, _at, from_domain = from_address.rpartition("@")
    message = OutgoingMessage()
    message.envelope_sender = from_address
    message.envelope_recipient = to
    message["From"] = Address(display_name=from_name, username=from_local, domain=from_domain)
    message["To"] = to
    message["Subject"] = _single_line("subject", subject)
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = make_msgid(domain=from_domain)
    # Tells auto-responders and vacation replies not to answer (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"

    sentences = _builtin_sentences(service, validity, origin)
    message.set_content(text or _builtin_text(digits, sentences))
    message.add_alternative(html_part or _builtin_html(digits, sentences, language), subtype="html")
    # After the parts: set_content clears every Content-* header set before it.
    message["Content-Language"] = language.replace("_", "-")
    return message


@dataclass(frozen=True)
class _Sentences:
    """The built-in mail's sentences, in the run's language."""

    lead: str
    valid: str
    origin: str | None  # where it was asked for; None in a login's mail, which says more below
    never_share: str
    closing: str  # what to do if it was not you


def _builtin_sentences(service: str, validity: str, origin: Origin) -> _Sentences:
    lead = _("Your verification code for {service} is:").format(service=service)
    valid = _("It is valid for {duration}.").format(duration=validity)
    never_share = _("Do not give this code to anyone: nobody will ever ask you for it.")
    if origin.login_user is not None:
        # A login: someone holds a way in already (a key, a password); ignoring is wrong advice.
        if origin.client is None:
            closing = _(
                "Someone is logging in to {host} as {user}; "
                "if this was not you, tell your administrator."
            ).format(host=origin.host, user=origin.login_user)
        else:
            closing = _(
                "Someone is logging in to {host} as {user} from {address}; "
                "if this was not you, tell your administrator."
            ).format(host=origin.host, user=origin.login_user, address=origin.client)
        return _Sentences(lead, valid, None, never_share, closing)
    if origin.client is None:
        where = _("It was asked for on the computer {host}.").format(host=origin.host)
    else:
        where = _("It was asked for on the computer {host}, over SSH from {address}.").format(
            host=origin.host, address=origin.client
        )
    closing = _("If you did not ask for this code, you can ignore this email.")
    return _Sentences(lead, valid, where, never_share, closing)


def _builtin_text(digits: str, said: _Sentences) -> str:
    where = f"{said.origin}\n" if said.origin is not None else ""
    return (
        f"{said.lead}\n\n{digits}\n\n{said.valid}\n{where}\n{said.never_share}\n\n{said.closing}\n"
    )


def _builtin_html(digits: str, said: _Sentences, language: str) -> str:
    lead, valid, never_share, closing = (
        html.escape(sentence)
        for sentence in (said.lead, said.valid, said.never_share, said.closing)
    )
    where = f"<br>\n{html.escape(said.origin)}" if said.origin is not None else ""
    lang = html.escape(language.replace("_", "-"), quote=True)
    # Colours are named, not hex: "#333333" would be another six-digit number in the body.
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}"><body style="font-family: sans-serif; color: black">\n'
        f"<p>{lead}</p>\n"
        '<p style="font-size: 2em; font-family: monospace; letter-spacing: 0.2em">'
        f"<strong>{digits}</strong></p>\n"
        f"<p>{valid}{where}</p>\n"
        f"<p><strong>{never_share}</strong></p>\n"
        f'<p style="color: dimgray">{closing}</p>\n'
        "</body></html>\n"
    )


def plain_text_part(message: EmailMessage) -> str:
    """The text/plain part with plain newlines; empty if the message has none."""
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    content = part.get_content()
    if not isinstance(content, str):
        return ""
    # Mail travels with CRLF line ends; a terminal wants plain newlines.
    return content.replace("\r\n", "\n")
