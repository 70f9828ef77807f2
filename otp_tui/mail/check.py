"""`otp-tui check`: walk an SMTP session step by step without sending mail, and report each step.

Every line is worded in the language chosen at start. What stays as it is in any language: the
SMTP commands naming the steps (EHLO, STARTTLS, AUTH, QUIT), a failure's kind in parentheses
(`auth`, `tls`: the values the audit trail and `--json` know), key names, and what a server or
a program said (the indented detail line).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TextIO, cast

from otp_tui.config.schema import Settings, SmtpSettings, is_loopback
from otp_tui.core.untrusted import visible
from otp_tui.language import _, pgettext
from otp_tui.mail.check_advice import advise
from otp_tui.mail.credentials import obtain_login, scrub
from otp_tui.mail.errors import FailureKind, SendError
from otp_tui.mail.outbox import DemoOutbox, default_outbox
from otp_tui.mail.session import Session, Step, build_tls_context, planned_steps, with_deadline

# The labels that are words rather than SMTP commands, by the name the code gives each.
_LABELS = ("CA file", "trust store", "password command", "token command", "connect")


def _label(name: str) -> str:
    """The words for a step's label; an SMTP command (EHLO, AUTH, ...) stays as it is."""
    words = {
        # TRANSLATORS: a label in the left column of `otp-tui check`: the file of smtp.ca_file.
        "CA file": pgettext("check step", "CA file"),
        # TRANSLATORS: a label in `otp-tui check`: the system's trusted certificates.
        "trust store": pgettext("check step", "trust store"),
        # TRANSLATORS: a label in `otp-tui check`: the program of smtp.password_command.
        "password command": pgettext("check step", "password command"),
        # TRANSLATORS: a label in `otp-tui check`: the program of smtp.oauth2_token_command.
        "token command": pgettext("check step", "token command"),
        # TRANSLATORS: a label in `otp-tui check`: opening the connection to the server.
        "connect": pgettext("check step", "connect"),
    }
    return words.get(name, name)


def _width() -> int:
    """The longest label in the language in use, and two spaces (18 in English)."""
    return max(len(_label(name)) for name in _LABELS) + 2


# The steps as records, for `--json`, when a caller collects them (`collected_steps`).
_collected: ContextVar[list[dict[str, Any]] | None] = ContextVar("collected", default=None)


@contextmanager
def collected_steps(steps: list[dict[str, Any]]) -> Iterator[None]:
    """Inside `with collected_steps(steps):`, every step reported is also appended to `steps`
    as a record in the code's own words: step (its name as the code gives it), status (ok,
    failed, skipped), and for a failure the kind and the detail (the server's words)."""
    token = _collected.set(steps)
    try:
        yield
    finally:
        _collected.reset(token)


def _line(
    out: TextIO, label: str, result: str, *, status: str = "ok", error: SendError | None = None
) -> None:
    # Results carry a server's words, a file name or a program's name: all from outside.
    out.write(f"  {_label(label):<{_width()}}{visible(result)}\n")
    steps = _collected.get()
    if steps is not None:
        # What `out` masks, the record masks too: the JSON line must not carry what the text
        # would not.
        message = _masked(out, visible(result))
        record: dict[str, Any] = {"step": label, "status": status, "message": message}
        if error is not None:
            detail = _masked(out, visible(error.detail)) or None
            record.update(kind=error.kind.value, detail=detail)
        steps.append(record)


def _masked(out: TextIO, text: str) -> str:
    return out.mask(text) if isinstance(out, _Scrubbed) else text


def _failed(out: TextIO, label: str, error: SendError, smtp: SmtpSettings) -> None:
    """The cause (in the operator's terms), the server's words, then the fix."""
    advice = advise(error, smtp, label)
    # TRANSLATORS: `otp-tui check`, a step that failed. {kind} is a fixed word such as "auth"
    # or "tls" (keep it as it is); {reason} is a sentence of its own.
    result = _("failed ({kind}) {reason}").format(kind=error.kind.value, reason=advice.cause)
    _line(out, label, result, status="failed", error=error)
    if error.detail:
        # An operator's command: the server's own words help, and hold no secret (a login's
        # secret is scrubbed from them); their control characters are shown, not obeyed.
        out.write(f"  {'':<{_width()}}  {visible(error.detail)}\n")
    # TRANSLATORS: `otp-tui check`, the line under a failed step; {fix} says what to change.
    out.write(f"  {'':<{_width()}}" + _("fix: {fix}").format(fix=advice.fix) + "\n")
    steps = _collected.get()
    if steps is not None:
        steps[-1]["fix"] = advice.fix


def _heading(smtp: SmtpSettings) -> str:
    assert smtp.host is not None
    host, port = visible(smtp.host), smtp.effective_port
    if smtp.security == "starttls":
        return _("Checking {host} port {port} (STARTTLS required), without sending mail:").format(
            host=host, port=port
        )
    if smtp.security == "tls":
        return _(
            "Checking {host} port {port} (TLS from the first byte), without sending mail:"
        ).format(host=host, port=port)
    return _("Checking {host} port {port} (no encryption), without sending mail:").format(
        host=host, port=port
    )


class _Scrubbed:
    """Writes to `out` with the login's secret, in any form a server may echo, masked: the last
    line of defence for what `otp-tui check` prints once a secret is in hand."""

    def __init__(self, out: TextIO, secret: str) -> None:
        self._out, self._secret = out, secret

    def write(self, text: str) -> int:
        return self._out.write(self.mask(text))

    def mask(self, text: str) -> str:
        return scrub(text, self._secret)


def _warn(out: TextIO, warning: str) -> None:
    out.write(f"  {warning}\n")


async def _walk(smtp: SmtpSettings, out: TextIO) -> int:
    assert smtp.host is not None
    out.write(_heading(smtp) + "\n")
    if smtp.security != "none" and not smtp.validate_certs:
        _warn(out, _("warning: certificate checks are off (smtp.validate_certs = false)"))
    if smtp.security == "none" and not is_loopback(smtp.host):
        # Only with smtp.allow_unencrypted_remote = true: the configuration refuses it otherwise.
        if smtp.username is not None:
            warning = _(
                "warning: the mail and the password will cross the network unencrypted "
                "(security = none)"
            )
        else:
            warning = _("warning: the mail will cross the network unencrypted (security = none)")
        _warn(out, warning)

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
            _failed(out, label, error, smtp)
            return _skip_rest(out, steps[1:])
        # TRANSLATORS: `otp-tui check`: the CA file named by smtp.ca_file was read.
        done = _("ok ({path})").format(path=smtp.ca_file) if label == "CA file" else _ok()
        _line(out, label, done)
        steps.pop(0)

    # The command runs as it would for a send, before connecting.
    try:
        login = await obtain_login(smtp)
    except SendError as error:
        assert command is not None
        _failed(out, command, error, smtp)
        return _skip_rest(out, steps[1:])
    if command is not None:
        assert login is not None
        # TRANSLATORS: `otp-tui check`: the password or token command ran; {program} is its name.
        _line(out, command, _("ok ({program})").format(program=login.source))
        steps.pop(0)

    if login is not None:
        out = cast("TextIO", _Scrubbed(out, login.secret))
    session = Session(smtp, context, login)
    try:
        for index, step in enumerate(planned_steps(smtp, send=False)):
            try:
                await with_deadline(session.run(step), smtp.timeout)
            except SendError as error:
                _failed(out, step.value, error, smtp)
                return _skip_rest(out, steps[index + 1 :])
            except TimeoutError:
                # TRANSLATORS: `otp-tui check`: {seconds} is smtp.timeout; "s" is the unit.
                silence = _("no answer within {seconds} s").format(seconds=f"{smtp.timeout:g}")
                timeout = SendError(FailureKind.TIMEOUT, silence)
                _failed(out, step.value, timeout, smtp)
                return _skip_rest(out, steps[index + 1 :])
            _line(out, step.value, _result(smtp, step, session))
    finally:
        session.close()
    out.write(_("All steps passed.") + "\n")
    return 0


def _command_label(smtp: SmtpSettings) -> str | None:
    if smtp.username is None:
        return None
    if smtp.oauth2_token_command is not None:
        return "token command"
    if smtp.password_command is not None:
        return "password command"
    return None


def _ok() -> str:
    # TRANSLATORS: `otp-tui check`: a step that passed.
    return _("ok")


def _result(smtp: SmtpSettings, step: Step, session: Session) -> str:
    if (step is Step.CONNECT and smtp.security == "tls") or step is Step.STARTTLS:
        if smtp.validate_certs:
            return _("ok (certificate checked)")
        return _("ok (certificate NOT checked)")
    if step is Step.AUTH:
        # TRANSLATORS: `otp-tui check`: {mechanism} is the SMTP login mechanism (PLAIN,
        # XOAUTH2, ...), {username} the smtp.username it logged in as.
        return _("{mechanism} ok (as {username})").format(
            mechanism=session.mechanism, username=smtp.username
        )
    return _ok()


def _skip_rest(out: TextIO, labels: list[str]) -> int:
    for label in labels:
        # TRANSLATORS: `otp-tui check`: a step not tried because an earlier one failed.
        _line(out, label, _("skipped"), status="skipped")
    out.write(_("Check failed.") + "\n")
    return 1


def show_templates(settings: Settings, out: TextIO) -> None:
    """The operator's templates rendered with a sample, subject and text part, code masked."""
    from otp_tui.config.templates import sample_values
    from otp_tui.core.codes import OneTimeCode
    from otp_tui.mail.message import Origin, build_message, plain_text_part

    directory = settings.mail.templates
    assert directory is not None
    policy = settings.policy
    sample = sample_values(
        code_length=policy.code_length,
        ttl_seconds=policy.code_ttl,
        sender_name=settings.sender.from_name,
        service=settings.sender.service_name,
    )
    code = str(sample["code"])
    message = build_message(
        settings.sender,
        str(sample["address"]),
        OneTimeCode(code),
        ttl_seconds=policy.code_ttl,
        requested_from=Origin(str(sample["host"]), str(sample["client"])),
        templates=directory,
    )
    mask = "*" * len(code)
    out.write(
        _("Mail from the templates in {directory}, with a sample (code masked):").format(
            directory=visible(str(directory))
        )
        + "\n"
    )
    subject = visible(str(message["Subject"]).replace(code, mask))
    # TRANSLATORS: `otp-tui check`: the subject line of the sample mail.
    out.write("  " + _("Subject: {subject}").format(subject=subject) + "\n")
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
        _(
            "Demo mode is active: no [smtp] host is set, so mail goes to the outbox at "
            "{directory} and nothing leaves this machine."
        ).format(directory=directory)
        + "\n"
    )
    async with DemoOutbox(directory) as outbox:
        return await _walk(outbox.smtp, out)


def check_main(settings: Settings, out: TextIO, *, outbox_dir: Path | None = None) -> int:
    """Synchronous entry for the CLI."""
    return asyncio.run(run_check(settings, out, outbox_dir=outbox_dir))
