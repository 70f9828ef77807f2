"""`otp-tui check`: walk an SMTP session step by step without sending mail, and report each step."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TextIO

from otp_tui.config.schema import Settings, SmtpSettings, is_loopback
from otp_tui.core.untrusted import visible
from otp_tui.mail.credentials import obtain_login
from otp_tui.mail.errors import FailureKind, SendError
from otp_tui.mail.outbox import DemoOutbox, default_outbox
from otp_tui.mail.session import Session, Step, build_tls_context, planned_steps, with_deadline

_SECURITY = {
    "starttls": "STARTTLS required",
    "tls": "TLS from the first byte",
    "none": "no encryption",
}
_WIDTH = 18  # the longest label, "password command", and two spaces


def _line(out: TextIO, label: str, result: str) -> None:
    # Results carry a server's words, a file name or a program's name: all from outside.
    out.write(f"  {label:<{_WIDTH}}{visible(result)}\n")


def _failed(out: TextIO, label: str, error: SendError) -> None:
    _line(out, label, f"failed ({error.kind.value}) {error}")
    if error.detail:
        # An operator's command: the server's own words help, and hold no secret (a login's
        # secret is scrubbed from them); their control characters are shown, not obeyed.
        out.write(f"  {'':<{_WIDTH}}  {visible(error.detail)}\n")


async def _walk(smtp: SmtpSettings, out: TextIO) -> int:
    assert smtp.host is not None
    out.write(
        f"Checking {visible(smtp.host)} port {smtp.effective_port} "
        f"({_SECURITY[smtp.security]}), without sending mail:\n"
    )
    if smtp.security != "none" and not smtp.validate_certs:
        out.write("  warning: certificate checks are off (smtp.validate_certs = false)\n")
    if smtp.security == "none" and not is_loopback(smtp.host):
        # Only with smtp.allow_unencrypted_remote = true: the configuration refuses it otherwise.
        what = "the mail and the password" if smtp.username is not None else "the mail"
        out.write(f"  warning: {what} will cross the network unencrypted (security = none)\n")

    steps = [step.value for step in planned_steps(smtp, send=False)]
    command = _command_label(smtp)
    if command is not None:
        steps.insert(0, command)
    context = None
    if smtp.security != "none":
        label = "CA file" if smtp.ca_file is not None and smtp.validate_certs else "trust store"
        steps.insert(0, label)
        try:
            context = await asyncio.to_thread(build_tls_context, smtp)
        except SendError as error:
            _failed(out, label, error)
            return _skip_rest(out, steps[1:])
        _line(out, label, f"ok ({smtp.ca_file})" if label == "CA file" else "ok")
        steps.pop(0)

    # The command runs as it would for a send, before connecting.
    try:
        login = await obtain_login(smtp)
    except SendError as error:
        assert command is not None
        _failed(out, command, error)
        return _skip_rest(out, steps[1:])
    if command is not None:
        assert login is not None
        _line(out, command, f"ok ({login.source})")
        steps.pop(0)

    session = Session(smtp, context, login)
    try:
        for index, step in enumerate(planned_steps(smtp, send=False)):
            try:
                await with_deadline(session.run(step), smtp.timeout)
            except SendError as error:
                _failed(out, step.value, error)
                return _skip_rest(out, steps[index + 1 :])
            except (TimeoutError, asyncio.TimeoutError):
                timeout = SendError(FailureKind.TIMEOUT, f"no answer within {smtp.timeout:g} s")
                _failed(out, step.value, timeout)
                return _skip_rest(out, steps[index + 1 :])
            _line(out, step.value, _result(smtp, step, session))
    finally:
        session.close()
    out.write("All steps passed.\n")
    return 0


def _command_label(smtp: SmtpSettings) -> str | None:
    if smtp.username is None:
        return None
    if smtp.oauth2_token_command is not None:
        return "token command"
    if smtp.password_command is not None:
        return "password command"
    return None


def _result(smtp: SmtpSettings, step: Step, session: Session) -> str:
    if (step is Step.CONNECT and smtp.security == "tls") or step is Step.STARTTLS:
        checked = "checked" if smtp.validate_certs else "NOT checked"
        return f"ok (certificate {checked})"
    if step is Step.AUTH:
        return f"{session.mechanism} ok (as {smtp.username})"
    return "ok"


def _skip_rest(out: TextIO, labels: list[str]) -> int:
    for label in labels:
        _line(out, label, "skipped")
    out.write("Check failed.\n")
    return 1


def show_templates(settings: Settings, out: TextIO) -> None:
    """The operator's templates rendered with a sample, subject and text part, code masked."""
    from otp_tui.config.templates import sample_values
    from otp_tui.core.codes import OneTimeCode
    from otp_tui.mail.message import build_message, plain_text_part

    directory = settings.mail.templates
    assert directory is not None
    policy = settings.policy
    sample = sample_values(
        code_length=policy.code_length,
        ttl_seconds=policy.code_ttl,
        sender_name=settings.sender.name,
    )
    code = str(sample["code"])
    message = build_message(
        settings.sender,
        str(sample["address"]),
        OneTimeCode(code),
        ttl_seconds=policy.code_ttl,
        requested_from=str(sample["requested_from"]),
        templates=directory,
    )
    mask = "*" * len(code)
    out.write(
        f"Mail from the templates in {visible(str(directory))}, with a sample (code masked):\n"
    )
    out.write(f"  Subject: {visible(str(message['Subject']).replace(code, mask))}\n")
    for line in plain_text_part(message).replace(code, mask).splitlines():
        out.write(f"  | {visible(line)}\n")
    out.write("\n")


async def run_check(settings: Settings, out: TextIO, *, outbox_dir: Path | None = None) -> int:
    """Report each step on `out`; 0 if every step passed, 1 otherwise."""
    if settings.mail.templates is not None:
        show_templates(settings, out)
    if not settings.demo:
        return await _walk(settings.smtp, out)
    directory = outbox_dir if outbox_dir is not None else default_outbox()
    out.write(
        "Demo mode is active: no [smtp] host is set, so mail goes to the outbox at "
        f"{directory} and nothing leaves this machine.\n"
    )
    async with DemoOutbox(directory) as outbox:
        return await _walk(outbox.smtp, out)


def check_main(settings: Settings, out: TextIO, *, outbox_dir: Path | None = None) -> int:
    """Synchronous entry for the CLI."""
    return asyncio.run(run_check(settings, out, outbox_dir=outbox_dir))
