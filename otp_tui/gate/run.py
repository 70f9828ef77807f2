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


def _service_uid(state_dir: Path) -> int | None:
    """The uid the gate is meant to run as: the owner of its state directory."""
    try:
        return os.stat(state_dir).st_uid
    except OSError:
        return None


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
    """GateRefusal unless every file the gate relies on is beyond the invoking user's reach."""
    from otp_tui.config.schema import DEFAULT_ADDRESSES_FILE
    from otp_tui.gate.trust import CONFIG_FILE, GATE_STATE, require_private, require_unchangeable

    smtp, gate = settings.smtp, settings.gate
    require_unchangeable(config_path, CONFIG_FILE, user)
    if smtp.password is not None and smtp.password_file is None:
        require_private(config_path, CONFIG_FILE)
    if smtp.password_file is not None:
        require_unchangeable(smtp.password_file, "smtp.password_file", user)
        require_private(smtp.password_file, "smtp.password_file")
    if smtp.ca_file is not None:
        require_unchangeable(smtp.ca_file, "smtp.ca_file", user)
    require_unchangeable(gate.addresses_file or DEFAULT_ADDRESSES_FILE, "addresses_file", user)
    if gate.address_command is not None:
        require_unchangeable(Path(gate.address_command[0]), "address_command", user)
    # A Redis ledger lives on its server; a file ledger and the audit trail must be the
    # service user's alone (gate_settings filled in their default paths).
    for path in (settings.state.ledger_path, settings.state.audit_log):
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
        user = invoking_user(
            os.environ, real_uid=real_uid, service_uid=_service_uid(settings.gate.state_dir)
        )
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
        )
    if outcome.error is not None:
        print(f"{PROG}: {outcome.error}", file=err)
    return outcome.exit_status
