"""`otp-tui gate`, start to end: every check that can refuse, then the verification.

The order matters: the interpreter first (before anything is read), then the operator's
configuration and the files it names, then who is calling and their address, and only then a
terminal and the app. Every refusal is one line on stderr and a non-zero exit; exit 0 comes only
from a verification that ended "verified".
"""

from __future__ import annotations

import os
import pwd
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from otp_tui.language import _
from otp_tui.result import EXIT_USAGE

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings
    from otp_tui.gate.invoker import Invoker

PROG = "otp-tui gate"


def state_folder(settings: Settings) -> Path:
    """The folder of the gate's audit trail (`gate_settings` has filled in its default)."""
    audit = settings.state.audit_log
    assert audit is not None
    return Path(os.path.abspath(audit)).parent


def service_uid(settings: Settings) -> int:
    """The uid the gate is meant to run as: the owner of its state folder, the one source.

    GateRefusal when the folder is missing: the operator hears that, not a permissions riddle.
    """
    from otp_tui.gate.refusal import GateRefusal
    from otp_tui.gate.trust import shown

    folder = state_folder(settings)
    try:
        return os.stat(folder).st_uid
    except OSError as error:
        # TRANSLATORS: {reason} is the system's (No such file or directory, ...).
        missing = _(
            "the gate's state folder {path} cannot be used: {reason}; create it, owned by the"
            " service user"
        )
        raise GateRefusal(missing.format(path=shown(folder), reason=error.strerror)) from None


def require_run_as_service(settings: Settings, service: int, real_uid: int) -> None:
    """Under sudo, the gate must run as the owner of its state folder (or root)."""
    from otp_tui.gate.refusal import GateRefusal
    from otp_tui.gate.trust import shown

    if "SUDO_USER" not in os.environ or real_uid in (0, service):
        return
    runner, owner = _name(real_uid), _name(service)
    wrong = _(
        "otp-tui gate runs as {runner}, but its state folder {path} belongs to {owner};"
        " sudo must run it as {owner}"
    )
    raise GateRefusal(wrong.format(runner=runner, owner=owner, path=shown(state_folder(settings))))


def _name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def gate_settings(settings: Settings) -> Settings:
    """The settings with the ledger and audit trail in the gate's state directory by default."""
    from otp_tui.state.audit import AUDIT_FILENAME
    from otp_tui.state.ledger import LEDGER_FILENAME

    state = settings.state
    chosen = state.model_copy(
        update={
            "ledger": state.ledger or settings.gate.state_dir / LEDGER_FILENAME,
            "audit_log": state.audit_log or settings.gate.state_dir / AUDIT_FILENAME,
        }
    )
    return settings.model_copy(update={"state": chosen})


def check_files(settings: Settings, config_path: Path, user: Invoker) -> None:
    """GateRefusal unless every file and program the gate relies on is beyond the invoking
    user's reach, and every secret beyond everyone else's."""
    from urllib.parse import urlsplit

    from otp_tui.config.schema import DEFAULT_ADDRESSES_FILE
    from otp_tui.gate.interpreter import SAFE_PATH
    from otp_tui.gate.trust import (
        CONFIG_FILE,
        GATE_STATE,
        require_folder_unchangeable,
        require_private,
        require_program_unchangeable,
        require_unchangeable,
    )

    smtp, gate, state = settings.smtp, settings.gate, settings.state
    require_unchangeable(config_path, CONFIG_FILE, user)
    # Secrets: in the config file (the SMTP password, a Redis URL's password) or in files.
    url = state.ledger_url
    if (smtp.password is not None and smtp.password_file is None) or (
        url is not None and urlsplit(url).password
    ):
        require_private(config_path, CONFIG_FILE)
    for path, key in ((smtp.password_file, "smtp.password_file"),
                      (state.ledger_password_file, "state.ledger_password_file"),
                      (state.ledger_sentinel_password_file,
                       "state.ledger_sentinel_password_file")):  # fmt: skip
        if path is not None:
            require_unchangeable(path, key, user)
            require_private(path, key)
    for path, key in (
        (smtp.ca_file, "smtp.ca_file"),
        (state.ledger_ca_file, "state.ledger_ca_file"),
    ):
        if path is not None:
            require_unchangeable(path, key, user)
    require_unchangeable(gate.addresses_file or DEFAULT_ADDRESSES_FILE, "addresses_file", user)
    # Programs run as the service user: what they run and read is the user's to change else.
    from otp_tui.gate.addresses import COMMAND_PATH

    for argv, key, search in (
        (gate.address_command, "address_command", COMMAND_PATH),
        (smtp.password_command, "smtp.password_command", SAFE_PATH),
        (smtp.oauth2_token_command, "smtp.oauth2_token_command", SAFE_PATH),
    ):
        if argv is not None:
            require_program_unchangeable(argv, key, user, search)
    if settings.mail.templates is not None:
        require_folder_unchangeable(settings.mail.templates, "mail.templates", user)
    # A Redis ledger lives on its server; a file ledger and the audit trail must be the
    # service user's alone (gate_settings filled in their default paths).
    for path in (state.ledger_path, state.audit_log):
        if path is not None:
            require_unchangeable(path, GATE_STATE, user)


def run_gate(config: str | None, err: TextIO = sys.stderr) -> int:
    from otp_tui.gate.interpreter import interpreter_problems

    problems = interpreter_problems()
    if problems:
        for line in problems:
            print(f"{PROG}: {line}", file=err)
        err.flush()
        # Not a return: under -i or PYTHONINSPECT the interpreter would answer any exit with a
        # prompt, and a prompt ended by EOF exits 0.
        os._exit(EXIT_USAGE)

    from otp_tui.gate.memory_ceiling import limit_memory

    limit_memory()  # before anything a gated user can make it hold

    from otp_tui.config.gate_settings import GATE_CONFIG_PATH, load_gate_settings
    from otp_tui.config.sources import ConfigError

    try:
        settings = load_gate_settings(config)
    except ConfigError as error:
        for line in error.problems:
            print(line, file=err)
        return EXIT_USAGE
    if settings.demo:
        # Demo mode shows the code on screen: a gate in demo mode would open for anyone.
        print(f"{PROG}: " + _("gate mode needs [smtp] host (demo mode is never used)"), file=err)
        return EXIT_USAGE
    settings = gate_settings(settings)
    from otp_tui.language import choose, use_language

    # The operator's [ui] language, else the user's locale as sudo kept it (LANG, LC_*): words
    # only, matched against the shipped catalogs, never a path and never a rule.
    use_language(choose(settings.ui.language, os.environ))

    from otp_tui.gate.addresses import lookup_address
    from otp_tui.gate.interpreter import kept_environment
    from otp_tui.gate.invoker import invoking_user
    from otp_tui.gate.refusal import GateRefusal

    real_uid = os.getuid()
    try:
        service = service_uid(settings)
        require_run_as_service(settings, service, real_uid)
        user = invoking_user(os.environ, real_uid=real_uid, service_uid=service)
        check_files(settings, Path(config) if config else GATE_CONFIG_PATH, user)
        home = pwd.getpwuid(real_uid).pw_dir
        # From here on nothing the caller put in the environment is seen, by the address
        # command, by Textual (TEXTUAL_DRIVER names a class to import) or by the mail code.
        kept = kept_environment(os.environ, home)
        os.environ.clear()
        os.environ.update(kept)
        found = lookup_address(settings.gate, user.name)
    except GateRefusal as refusal:
        print(f"{PROG}: {refusal}", file=err)
        return refusal.exit_status

    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        from otp_tui.flow.wording import needs_a_terminal

        print(needs_a_terminal(PROG), file=err)
        return EXIT_USAGE

    from otp_tui.state.audit import on_behalf_of
    from otp_tui.tui.launch import run_interactive

    with on_behalf_of(user.name):
        outcome = run_interactive(
            settings,
            email=found.address,
            demo=False,
            allow_on_mail_failure=settings.gate.on_mail_failure == "allow",
            session_timeout=settings.gate.session_timeout,
        )
    if outcome.error is not None:
        print(f"{PROG}: {outcome.error}", file=err)
    return outcome.exit_status
