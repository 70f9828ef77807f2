"""What `otp-tui check` tells the operator about a failed step: the cause, then the fix.

A send's failure is worded for the person at the terminal ("tell whoever runs this service");
`check` is run by whoever runs it, so it names what happened in the server's terms and the
configuration key that changes it. A failure whose own sentence is already precise (an expired
certificate, passwords switched off at Microsoft 365) keeps that sentence as its cause.
"""

from __future__ import annotations

from dataclasses import dataclass

from otp_tui.config.schema import SmtpSettings, is_loopback
from otp_tui.core.untrusted import visible
from otp_tui.language import _
from otp_tui.mail.errors import FailureKind, SendError


@dataclass(frozen=True)
class Advice:
    cause: str
    fix: str


def _cause(error: SendError, smtp: SmtpSettings) -> str:
    """The error's own sentence when it is precise, else the operator's words for its kind."""
    if str(error) != error.kind.message:
        return str(error)
    host, port = visible(smtp.host or ""), smtp.effective_port
    kind = error.kind
    if kind is FailureKind.AUTH and error.detail == "AUTH: the server does not offer it":
        # TRANSLATORS: `otp-tui check`, the cause of a failed AUTH step.
        return _("The server offers no login at all (no AUTH in its answer to EHLO).")
    if kind is FailureKind.AUTH and error.detail.startswith("AUTH: no password mechanism"):
        return _("The server offers no password login mechanism (PLAIN or LOGIN).")
    causes = {
        # TRANSLATORS: `otp-tui check`, the cause of a failed step; {host} and {port} are the
        # server's.
        FailureKind.UNREACHABLE: _("Nothing accepts connections at {host} port {port}."),
        FailureKind.TIMEOUT: _("The server at {host} port {port} did not answer in time."),
        FailureKind.TLS: _("The TLS connection to {host} port {port} could not be made."),
        FailureKind.AUTH: _("The server refused the login as {username}."),
        FailureKind.RECIPIENT_REFUSED: _("The server refused the recipient."),
        FailureKind.TEMPORARY: _("The server answered with a temporary failure."),
        FailureKind.REJECTED: _("The server refused the command."),
    }
    return causes[kind].format(host=host, port=port, username=visible(smtp.username or ""))


def _fix(error: SendError, smtp: SmtpSettings, step: str) -> str:
    kind, local = error.kind, is_loopback(smtp.host or "")
    if kind is FailureKind.TLS and step == "STARTTLS" and local:
        # TRANSLATORS: `otp-tui check`, what to change; keep the key and its value as they are.
        return _(
            'a relay on this machine often speaks no TLS: set security = "none" in [smtp] '
            "(allowed for a loopback host only)"
        )
    if kind is FailureKind.TLS and step in ("CA file", "trust store"):
        return _("point smtp.ca_file at a readable PEM file holding the CA that signed the server")
    if kind is FailureKind.TLS:
        return _(
            "check that smtp.security matches the port (tls for 465, starttls for 587), that "
            "smtp.host is the name in the server's certificate, and smtp.ca_file"
        )
    if kind is FailureKind.AUTH and error.detail == "AUTH: the server does not offer it":
        return _(
            "remove smtp.username if the server relays without a login, or use its "
            'submission port (587, security = "starttls"), where logins are offered'
        )
    if kind is FailureKind.AUTH and step in ("password command", "token command"):
        return _("run the command by hand as the same user and fix what it prints on stderr")
    if kind is FailureKind.AUTH:
        return _(
            "check smtp.username and the password (smtp.password, password_file or "
            "password_command), or the OAuth2 token command"
        )
    if kind is FailureKind.UNREACHABLE:
        return _(
            "check smtp.host and smtp.port, that the server runs, and that no firewall "
            "stands between"
        )
    if kind is FailureKind.TIMEOUT:
        return _(
            'check smtp.port and smtp.security (a "tls" port spoken to in plain text stays '
            "silent), or raise smtp.timeout for a slow server"
        )
    return _("read the server's words above and ask whoever runs it")


def advise(error: SendError, smtp: SmtpSettings, step: str) -> Advice:
    """The cause and the fix for a step (`connect`, `STARTTLS`, `CA file`, ...) that failed."""
    return Advice(_cause(error, smtp), _fix(error, smtp, step))
