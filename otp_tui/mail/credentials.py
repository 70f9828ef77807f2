"""The SMTP login for one send: a password (kept, from a file or from a command) or OAuth2.

The secret commands follow msmtp's `passwordeval` and git's credential helpers: an argv list run
without a shell, whose first line of output is the secret. They run for every send, so a token
is always fresh and a password manager decides each time. What can go wrong with a command
(it fails, hangs, or prints nothing) is an `auth` failure whose sentence names the program, never
its output; its stderr goes to the debug log only, with the secret scrubbed from it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from otp_tui.config.schema import SmtpSettings
from otp_tui.core.untrusted import visible
from otp_tui.language import _
from otp_tui.mail.errors import FailureKind, SendError

log = logging.getLogger(__name__)

_STDERR_LOGGED = 2000  # characters of a command's stderr kept for the debug log


@dataclass(frozen=True, repr=False)
class Login:
    """Who to log in as, with what, and where the secret came from (for `otp-tui check`)."""

    username: str
    secret: str
    oauth2: bool
    source: str  # "" for a kept password, else the program that printed the secret

    def __repr__(self) -> str:
        kind = "oauth2" if self.oauth2 else "password"
        return f"Login({self.username!r}, {kind}, secret=***)"


# A run of base64 (or base64url) long enough to carry a secret.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}={0,2}")


def _carries(run: str, secret: bytes) -> bool:
    """Whether a base64 run decodes, at any of its four alignments, to bytes holding `secret`."""
    alphabet = run.rstrip("=").replace("-", "+").replace("_", "/")
    for start in range(4):
        piece = alphabet[start:]
        left = len(piece) % 4  # the last quantum: padded back, or cut when it is one character
        piece = piece[:-1] if left == 1 else piece + "=" * ((4 - left) % 4)
        try:
            if secret in base64.b64decode(piece, validate=True):
                return True
        except (ValueError, binascii.Error):
            continue
    return False


def scrub(text: str, secret: str) -> str:
    """`text` with `secret`, and any base64 that carries it, masked.

    A server may echo what it was sent (a hostile one will): the secret itself, its base64
    (AUTH LOGIN), or the base64 of a whole SASL payload that holds it (PLAIN's "\\0user\\0secret",
    XOAUTH2's "user=...\\x01auth=Bearer token..."). Whatever it says goes to the debug log and
    to `otp-tui check`, so every run of base64 in it is decoded and masked if it carries the
    secret, whatever else it holds.
    """
    if not secret:
        return text
    raw = secret.encode()
    text = text.replace(secret, "***")
    return _BASE64_RUN.sub(lambda m: "***" if _carries(m.group(), raw) else m.group(), text)


def command_name(argv: tuple[str, ...]) -> str:
    """The program's name as configured, safe to show: arguments may hold paths or keys."""
    return visible(Path(argv[0]).name or argv[0])


# The sentences a person reads when a secret command goes wrong, whole for each secret and
# each problem: {program} is the command's name, {status} its exit status, {seconds} the time
# allowed. (The detail beside each, for `otp-tui check` and the debug log, stays in English.)
def _sentence(what: str, problem: str) -> str:
    token = what != "password"
    if problem == "not started":
        if token:
            return _(
                "The command that gives the SMTP OAuth2 token ({program}) could not be started."
            )
        return _("The command that gives the SMTP password ({program}) could not be started.")
    if problem == "too slow":
        if token:
            return _(
                "The command that gives the SMTP OAuth2 token ({program}) did not finish within"
                " {seconds} s."
            )
        return _(
            "The command that gives the SMTP password ({program}) did not finish within"
            " {seconds} s."
        )
    if problem == "failed":
        if token:
            return _(
                "The command that gives the SMTP OAuth2 token ({program}) failed"
                " (exit status {status})."
            )
        return _(
            "The command that gives the SMTP password ({program}) failed (exit status {status})."
        )
    if problem == "not UTF-8":
        if token:
            return _(
                "The command that gives the SMTP OAuth2 token ({program}) printed something"
                " that is not UTF-8 text."
            )
        return _(
            "The command that gives the SMTP password ({program}) printed something that is"
            " not UTF-8 text."
        )
    if token:
        return _("The command that gives the SMTP OAuth2 token ({program}) printed nothing.")
    return _("The command that gives the SMTP password ({program}) printed nothing.")


def _failure(
    what: str, argv: tuple[str, ...], problem: str, detail: str, **values: object
) -> SendError:
    sentence = _sentence(what, problem).format(program=command_name(argv), **values)
    return SendError(FailureKind.AUTH, f"{what} command: {detail}", sentence=sentence)


async def run_secret_command(argv: tuple[str, ...], *, timeout: float, what: str) -> str:
    """Run `argv` and return the first line it prints; SendError (`auth`) if that fails.

    `what` names the secret for the sentence ("password", "OAuth2 token"). The run blocks, so
    it goes to a worker thread; it ends by its own deadline even if this send is cancelled.
    """
    from otp_tui.operator_command import run_command

    result = await asyncio.to_thread(run_command, argv, timeout=timeout)
    name = command_name(argv)
    if result.ending == "not started":
        raise _failure(what, argv, "not started", f"{name}: {result.reason}")
    if result.ending in ("silent", "unfinished"):
        raise _failure(
            what, argv, "too slow", f"{name}: killed after {timeout:g} s", seconds=f"{timeout:g}"
        )
    first_line = result.first_line
    if what != "password":
        first_line = first_line.strip()  # tokens hold no spaces; a stray one would break them
    try:
        secret: str | None = first_line.decode("utf-8")
    except UnicodeDecodeError:
        secret = None
    if result.stderr:
        text = result.stderr.decode("utf-8", "replace")[:_STDERR_LOGGED]
        log.debug(
            "%s command %s wrote on stderr: %s", what, name, visible(scrub(text, secret or ""))
        )
    if result.ending == "too much":
        raise _failure(what, argv, "printed nothing", f"{name}: printed more than 64 KiB")
    status = result.status or 0
    if status != 0:
        raise _failure(what, argv, "failed", f"{name}: exit status {status}", status=status)
    if secret is None:
        raise _failure(what, argv, "not UTF-8", "output not UTF-8")
    if not secret:
        raise _failure(what, argv, "printed nothing", f"{name}: empty first line")
    return secret


async def obtain_login(smtp: SmtpSettings) -> Login | None:
    """The login for one send, running the configured command if there is one; None: no AUTH."""
    if smtp.username is None:
        return None
    if smtp.oauth2_token_command is not None:
        argv = smtp.oauth2_token_command
        token = await run_secret_command(argv, timeout=smtp.command_timeout, what="OAuth2 token")
        return Login(smtp.username, token, oauth2=True, source=command_name(argv))
    if smtp.password_command is not None:
        argv = smtp.password_command
        password = await run_secret_command(argv, timeout=smtp.command_timeout, what="password")
        return Login(smtp.username, password, oauth2=False, source=command_name(argv))
    kept = smtp.password.get_secret_value() if smtp.password is not None else ""
    return Login(smtp.username, kept, oauth2=False, source="")
