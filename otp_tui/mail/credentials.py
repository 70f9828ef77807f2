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
import contextlib
import logging
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from otp_tui.config.schema import SmtpSettings
from otp_tui.core.untrusted import visible
from otp_tui.language import _
from otp_tui.mail.errors import FailureKind, SendError

log = logging.getLogger(__name__)

# Enough for any password or token; a command that prints more is cut off, not buffered.
_OUTPUT_LIMIT = 64 * 1024
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


def scrub(text: str, secret: str) -> str:
    """`text` with `secret`, and the base64 forms a SASL exchange carries it in, masked.

    A server may echo what it was sent (a hostile one will); whatever it says goes to the debug
    log and to `otp-tui check`, so the secret is taken out first.
    """
    if not secret:
        return text
    forms = {secret, base64.b64encode(secret.encode()).decode()}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text


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


async def _read_bounded(stream: asyncio.StreamReader | None) -> bytes:
    if stream is None:
        return b""
    kept = bytearray()
    while chunk := await stream.read(65536):
        if len(kept) < _OUTPUT_LIMIT:
            kept += chunk[: _OUTPUT_LIMIT - len(kept)]
    return bytes(kept)


async def _collect(process: asyncio.subprocess.Process) -> tuple[bytes, bytes, int]:
    stdout, stderr = await asyncio.gather(
        _read_bounded(process.stdout), _read_bounded(process.stderr)
    )
    return stdout, stderr, await process.wait()


def _kill(process: asyncio.subprocess.Process) -> None:
    # The command runs in its own session, so its children (a helper that forks) go with it.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def run_secret_command(argv: tuple[str, ...], *, timeout: float, what: str) -> str:
    """Run `argv` and return the first line it prints; SendError (`auth`) if that fails.

    `what` names the secret for the sentence ("password", "OAuth2 token").
    """
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as error:
        raise _failure(
            what, argv, "not started", f"{command_name(argv)}: {error.strerror}"
        ) from None
    try:
        try:
            stdout, stderr, status = await asyncio.wait_for(_collect(process), timeout)
        except TimeoutError:
            raise _failure(
                what,
                argv,
                "too slow",
                f"{command_name(argv)}: killed after {timeout:g} s",
                seconds=f"{timeout:g}",
            ) from None
    finally:
        if process.returncode is None:
            _kill(process)
            # Reaped at once: SIGKILL cannot be refused.
            await process.wait()

    first_line = stdout.split(b"\n", 1)[0].rstrip(b"\r")
    if what != "password":
        first_line = first_line.strip()  # tokens hold no spaces; a stray one would break them
    try:
        secret = first_line.decode("utf-8")
    except UnicodeDecodeError:
        secret = None
    if stderr:
        text = stderr.decode("utf-8", "replace")[:_STDERR_LOGGED]
        log.debug(
            "%s command %s wrote on stderr: %s",
            what,
            command_name(argv),
            visible(scrub(text, secret or "")),
        )
    if status != 0:
        raise _failure(
            what, argv, "failed", f"{command_name(argv)}: exit status {status}", status=status
        )
    if secret is None:
        raise _failure(what, argv, "not UTF-8", "output not UTF-8")
    if not secret:
        raise _failure(what, argv, "printed nothing", f"{command_name(argv)}: empty first line")
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
