"""`otp-tui pam`, start to end: the helper `pam_otp_tui.so` starts as the service user.

The same checks as the gate, in the same order, and the same flow: the interpreter first, then
the module's opening block, the operator's configuration and the files it names, the user PAM
names and their address on file, and only then the conversation. Every refusal is one syslog
line for the operator and one line for the person, then the verdict `denied`; only a run that
ends verified (or let in by `on_mail_failure = "allow"`) says anything else.

Stdin and stdout are the socket to the module; stderr is /dev/null (the module sets it so), so
nothing is ever printed there.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from otp_tui.converse.channel import Channel, Facts, ProtocolError, Verdict
from otp_tui.result import EXIT_NOT_VERIFIED, EXIT_USAGE

if TYPE_CHECKING:
    from otp_tui.flow.launch import LaunchOutcome
    from otp_tui.flow.run import Run
    from otp_tui.gate.invoker import Invoker
    from otp_tui.result import RunResult

log = logging.getLogger(__name__)
PROG = "otp-tui pam"


def tell_operator(line: str) -> None:
    """One line in the system's auth log (the module's own lines are there too)."""
    import syslog

    syslog.openlog("otp-tui-pam", syslog.LOG_PID, syslog.LOG_AUTHPRIV)
    syslog.syslog(syslog.LOG_ERR, line.replace("\n", " "))


def _invoker(name: str) -> Invoker:
    from otp_tui.gate.invoker import Invoker
    from otp_tui.gate.refusal import GateRefusal
    from otp_tui.language import _

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise GateRefusal(_("the user PAM names is not a known user")) from None
    return Invoker(entry.pw_name, entry.pw_uid, frozenset(os.getgrouplist(name, entry.pw_gid)))


def _require_service_user(service: int) -> None:
    """The module's `user=` must be the owner of the state folder, the gate's one source."""
    from otp_tui.gate.refusal import GateRefusal
    from otp_tui.language import _

    if os.getuid() not in (0, service):
        raise GateRefusal(
            _("otp-tui pam runs as uid {uid}, but its state folder belongs to uid {owner}").format(
                uid=os.getuid(), owner=service
            )
        )


def _client(rhost: str) -> str | None:
    """PAM_RHOST when it is an IP address (sshd's, without UseDNS): a label, never counted."""
    from otp_tui.core.ssh_client import address_label

    return address_label(rhost)


def _verdict(outcome: LaunchOutcome) -> Verdict:
    if outcome.exit_status != 0:
        return "denied"
    if outcome.result.reason == "verified":
        return "verified"
    if outcome.result.reason == "allowed_without_mail":
        return "allowed"
    return "denied"


def run_pam(config: str | None, stdin: BinaryIO, stdout: BinaryIO) -> int:
    from otp_tui.gate.interpreter import interpreter_problems

    problems = interpreter_problems()
    if problems:
        for line in problems:
            tell_operator(f"{PROG}: {line}")
        os._exit(EXIT_USAGE)  # as the gate does: never a prompt under -i

    from otp_tui.gate.memory_ceiling import limit_memory

    limit_memory()  # as the gate: nothing the person sends can take the host's memory
    # pydantic looks for plugins in every installed distribution's metadata the first time a
    # model is built (~7 ms in a virtual environment with the test tools, before the first
    # prompt); otp-tui uses none, and none should see the operator's settings, secrets included.
    os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"

    channel = Channel(stdin, stdout)
    try:
        facts = channel.read_facts()
        return _run(config, channel, facts)
    except ProtocolError as error:
        tell_operator(f"{PROG}: {error}")
        return EXIT_USAGE


def _refuse(channel: Channel, text: str, status: int) -> int:
    """The operator's reason goes to syslog only; the person reads the one sentence every
    refusal of the setup gets. The reason names files, users and settings of the host, and
    the person at a PAM prompt may not even be logged in yet."""
    from otp_tui.converse.words import refused

    for line in text.splitlines():
        tell_operator(f"{PROG}: {line}")
    channel.say(refused(), error=True)
    channel.verdict("denied")
    return status


def _run(config: str | None, channel: Channel, facts: Facts) -> int:
    from otp_tui.config.gate_settings import GATE_CONFIG_PATH, load_gate_settings
    from otp_tui.config.sources import ConfigError
    from otp_tui.language import _, choose, use_language

    try:
        settings = load_gate_settings(config)
    except ConfigError as error:
        return _refuse(channel, "\n".join(error.problems), EXIT_USAGE)
    if settings.demo:
        # Demo mode shows the code on screen: a door in demo mode would open for anyone.
        refusal = _("PAM mode needs [smtp] host (demo mode is never used)")
        return _refuse(channel, refusal, EXIT_USAGE)

    from otp_tui.gate.run import check_files, gate_settings, service_uid

    settings = gate_settings(settings)
    # The operator's [ui] language, else the locale the module passed on: words only.
    use_language(choose(settings.ui.language, os.environ))

    from otp_tui.gate.addresses import lookup_address
    from otp_tui.gate.refusal import GateRefusal

    try:
        _require_service_user(service_uid(settings))
        user = _invoker(facts.user)
        check_files(settings, Path(config) if config else GATE_CONFIG_PATH, user)
        found = lookup_address(settings.gate, user.name)
    except GateRefusal as refusal:
        return _refuse(channel, str(refusal), refusal.exit_status)

    from otp_tui.flow.launch import launch
    from otp_tui.flow.requester import Caller

    # The user PAM names is who asks (the budgets count them); the remote host, when it is an
    # IP address, labels the audit trail as SSH_CONNECTION does for the gate.
    caller = Caller(user=user.name, ssh_client=_client(facts.rhost))
    outcome = launch(
        settings,
        email=found.address,
        demo=False,
        drive=lambda run, failed: _drive(run, failed, channel),
        allow_on_mail_failure=settings.gate.on_mail_failure == "allow",
        session_timeout=settings.gate.session_timeout,
        caller=caller,
        audit_fields={"pam_service": facts.service, "rhost": facts.rhost},
    )
    if outcome.error is not None:
        tell_operator(f"{PROG}: {outcome.error}")
        channel.say(outcome.error, error=True)
    channel.verdict(_verdict(outcome))
    return outcome.exit_status


def _drive(run: Run, failed: RunResult, channel: Channel) -> LaunchOutcome:
    from otp_tui.converse.conversation import Conversation
    from otp_tui.converse.words import refused
    from otp_tui.flow.launch import LaunchOutcome, outcome_of_ending

    try:
        asyncio.run(Conversation(run, channel).main())
    except ProtocolError:
        raise  # the module went away: nobody to tell; run_pam logs it
    except Exception as error:
        # One line, never a traceback (its local variables could hold a code); never verified.
        log.debug("unexpected error", exc_info=error)
        run.quit("cancelled")
        tell_operator(f"{PROG}: unexpected error ({type(error).__name__}); not verified")
        channel.say(refused(), error=True)
        return LaunchOutcome(failed, EXIT_NOT_VERIFIED, None)
    return outcome_of_ending(run, failed)
