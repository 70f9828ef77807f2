"""The command line: arguments, configuration, subcommands, exit statuses and `--json`.

Imports are kept inside the functions that need them: `otp-tui` is started by people waiting
for it (often over SSH), so nothing loads before it is used.

Every text here is translated when the parser is built or a line is printed, after `main` has
chosen the language; argparse's own words ("usage:", "options:", "show this help message and
exit") are Python's and stay as Python has them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from otp_tui.hardening import Unprotected, protect_process_secrets
from otp_tui.language import _
from otp_tui.result import EXIT_INTERRUPTED, EXIT_USAGE, RunResult

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings
    from otp_tui.result import RunResult

PROG = "otp-tui"


def _common_options(*, suppress: bool) -> _Parser:
    """--config and --set, accepted before or after the subcommand.

    On a subcommand their defaults are suppressed: otherwise argparse would let the
    subcommand's default overwrite a value given before it (`otp-tui --config X check`).
    """
    common = _Parser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS if suppress else None,
        help=_(
            "TOML configuration file (default: $OTP_TUI_CONFIG, "
            "else config.toml in the user configuration directory)"
        ),
    )
    common.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=argparse.SUPPRESS if suppress else [],
        metavar="SECTION.KEY=VALUE",
        help=_("override one configuration key, e.g. --set policy.code_ttl=300 (repeatable)"),
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help=_("print one JSON object with the result on stdout"),
    )
    return common


class _Parser(argparse.ArgumentParser):
    """argparse with "did you mean" for a mistyped subcommand (`otp-tui chek`).

    Python 3.14's `suggest_on_error` does this; before it, `_check_value` is the one place that
    sees the unknown choice (stable since Python 3.2).
    """

    def _check_value(self, action: argparse.Action, value: object) -> None:
        choices = action.choices
        if choices is None or value in choices or not isinstance(value, str):
            super()._check_value(action, value)
            return
        from otp_tui.config.suggestions import nearest

        guess = nearest(value, [str(choice) for choice in choices])
        if guess is None:
            super()._check_value(action, value)
            return
        # TRANSLATORS: {value} is what was typed (quoted), {guess} the nearest subcommand.
        message = _("invalid choice: {value} (did you mean {guess}?)")
        raise argparse.ArgumentError(action, message.format(value=repr(value), guess=guess))


def build_parser() -> argparse.ArgumentParser:
    common = _common_options(suppress=True)
    parser = _Parser(
        prog=PROG,
        parents=[_common_options(suppress=False)],
        description=_(
            "Prove that the person at this terminal controls an email address: "
            "mail them a one-time code and check what they type."
        ),
        epilog=epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--email",
        metavar="ADDRESS",
        help=_("verify this address, fixed: it cannot be changed on screen and is shown masked"),
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help=_("use the embedded loopback outbox, whatever the config"),
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help=_(
            "ask line by line instead of drawing a full screen (chosen by itself when TERM "
            "is dumb or empty)"
        ),
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        help=_("without one, otp-tui verifies an address interactively"),
    )
    commands.add_parser(
        "check",
        parents=[common],
        help=_("check the SMTP server and the ledger without sending mail"),
    )
    status = commands.add_parser(
        "status", parents=[common], help=_("show what the ledger holds for an address")
    )
    status.add_argument("address", help=_("the address, in any case (the ledger folds it)"))
    unlock = commands.add_parser("unlock", parents=[common], help=_("lift a lock on an address"))
    unlock.add_argument("address", help=_("the address whose lock and failure counts to clear"))
    report = commands.add_parser(
        "report",
        parents=[common],
        help=_("summarise the audit trail for a period: verifications, refusals, locks"),
    )
    report.add_argument(
        "--since", metavar="WHEN", help=_("from this moment: 2026-12-01, 2026-12-01T08:30, 24h, 7d")
    )
    report.add_argument("--until", metavar="WHEN", help=_("up to this moment (default: now)"))
    report.add_argument(
        "--trail",
        metavar="PATH",
        help=_("the audit trail to read, with its rotated files (default: [state] audit_log)"),
    )
    report.add_argument(
        "--openmetrics",
        action="store_true",
        help=_("print OpenMetrics text for node_exporter's textfile collector"),
    )
    doctor = commands.add_parser(
        "doctor",
        help=_("check, as root, that this host's gate is safe: sshd, sudo, files, PAM, relay"),
        description=_(
            "Read this host's sshd, sudoers, files, PAM stack, relay and ledger and print one "
            "line per finding. Exit status: 0 nothing unsafe, 1 something unsafe, 2 the gate's "
            "config cannot be read."
        ),
    )
    doctor.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help=_("the gate's TOML file (default: /etc/otp-tui/config.toml)"),
    )
    doctor.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help=_("print one JSON object with the findings on stdout"),
    )
    doctor.add_argument(
        "--user",
        dest="users",
        action="append",
        default=[],
        metavar="NAME",
        help=_("a gated user to check (repeatable; default: the users in the addresses file)"),
    )
    doctor.add_argument(
        "--sshd-config",
        metavar="PATH",
        default="/etc/ssh/sshd_config",
        help=_("sshd's configuration (default: /etc/ssh/sshd_config)"),
    )
    doctor.add_argument(
        "--addr",
        default="127.0.0.1",
        help=_("the client address sshd -T assumes for Match rules (default: 127.0.0.1)"),
    )
    doctor.add_argument(
        "--pam-service",
        dest="pam_services",
        action="append",
        default=None,
        metavar="PATH",
        help=_("a PAM service file to check (default: those in /etc/pam.d naming the module)"),
    )
    doctor.add_argument(
        "--no-relay",
        action="store_true",
        help=_("do not run otp-tui check against the relay and the ledger"),
    )
    config = commands.add_parser(
        "config", help=_("print a configuration to start from (nothing is read or written)")
    )
    config_commands = config.add_subparsers(dest="config_command", metavar="WHAT", required=True)
    example = config_commands.add_parser(
        "example",
        help=_("a minimal configuration that keeps demo mode until you fill it in"),
    )
    example.add_argument(
        "--full", action="store_true", help=_("every key, documented, with its default")
    )
    completion = commands.add_parser(
        "completion", help=_("print the shell completion script for bash, zsh or fish")
    )
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))
    gate = commands.add_parser(
        "gate",
        help=_(
            "the SSH login gate: verify the logging-in user's address on file (run it as "
            "the service user through sudo; see the README)"
        ),
    )
    gate.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help=_(
            "the operator's TOML file (default: /etc/otp-tui/config.toml); nothing else is read"
        ),
    )
    pam = commands.add_parser(
        "pam",
        help=_(
            "the PAM helper: started by pam_otp_tui.so as the service user, it talks to the "
            "module on stdin and stdout (see the README)"
        ),
    )
    pam.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help=_(
            "the operator's TOML file (default: /etc/otp-tui/config.toml); nothing else is read"
        ),
    )
    return parser


def epilog() -> str:
    """The end of --help: the exit statuses in a table, then where the configuration comes from.

    The table's layout and its numbers are the code's; only the words in its cells are
    translated, so no language can change a status.
    """
    # The cells of the exit status table, one each: short, as the last three share a line.
    wide = (
        # TRANSLATORS: a cell of the exit status table at the end of --help (status 0); keep
        # key names and values as they are.
        (0, _('verified (and, for gate with on_mail_failure = "allow" only, let in without mail)')),
        # TRANSLATORS: a cell of the exit status table at the end of --help (status 1).
        (1, _("not verified: locked, expired, refused, gave up, or an unexpected error")),
        # TRANSLATORS: a cell of the exit status table at the end of --help (status 2).
        (2, _("usage or configuration error, no terminal, an unusable ledger or audit log")),
    )
    narrow = (
        # TRANSLATORS: cells of the exit status table at the end of --help (129, 130, 143):
        # keep them short, the three share one line.
        (129, _("the terminal hung up")),
        (130, _("interrupted (Ctrl+C)")),
        (143, _("terminated")),
    )
    rows = [f"  {status:<5}{text}" for status, text in wide]
    rows.append("  " + "     ".join(f"{status:<5}{text}" for status, text in narrow))
    # TRANSLATORS: a paragraph at the end of --help. Keep the line breaks where lines stay
    # under about 85 columns, and keep every option, variable, path and command as it is.
    configuration = _(
        "configuration: --config PATH, else $OTP_TUI_CONFIG, else config.toml in the user\n"
        "configuration directory (~/.config/otp-tui/ on Linux); OTP_TUI_<SECTION>__<KEY>\n"
        "variables and --set override it. `otp-tui gate` reads only /etc/otp-tui/config.toml\n"
        "(or its --config). `otp-tui config example --full` prints every key, documented."
    )
    # TRANSLATORS: the heading of the exit status table at the end of --help.
    heading = _("exit status:")
    return "\n".join((heading, *rows, "", configuration)) + "\n"


class _VersionAction(argparse.Action):
    """--version, looked up only when asked for: reading package metadata scans site-packages,
    and argparse's own "version" action would do that on every start."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help=_("show the version and exit"))

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"{PROG} {_version()}")
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("otp-tui")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def _warn_unprotected(problems: list[Unprotected]) -> None:
    if not problems:
        return
    from otp_tui.language import choose, use_language

    # The protection ran before anything else; its warnings are worded now, in the user's
    # language (main() chooses it again, the same way).
    use_language(choose(None, os.environ))
    for problem in problems:
        # TRANSLATORS: {prog} is "otp-tui"; {problem} says which protection is missing.
        print(_("{prog}: warning: {problem}").format(prog=PROG, problem=problem), file=sys.stderr)


def _fail(message: str, err: TextIO) -> int:
    from otp_tui.core.untrusted import visible  # the message may quote an argument or a path

    print(f"{PROG}: {visible(message)}", file=err)
    return EXIT_USAGE


def load(args: argparse.Namespace, err: TextIO) -> Settings | None:
    """The settings, or None after printing one line per problem."""
    from otp_tui.config.loading import ConfigError, load_settings, locate_config, parse_overrides

    warnings: list[str] = []
    try:
        settings = load_settings(
            locate_config(args.config), parse_overrides(args.overrides), warnings=warnings
        )
    except ConfigError as error:
        for line in error.problems:
            print(line, file=err)
        return None
    for line in warnings:
        print(line, file=err)
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    from otp_tui.language import choose, use_language

    # The user's language for --help and the configuration's errors; then the configured one.
    use_language(choose(None, os.environ))
    args = build_parser().parse_args(argv)
    err = sys.stderr
    if args.command == "gate":
        return _gate(args, err)
    if args.command == "pam":
        return _pam(args, err)
    if args.command == "doctor":
        return _doctor(args, err)
    if args.command == "config":
        from otp_tui.config.example import MINIMAL, full_example

        sys.stdout.write(full_example() if args.full else MINIMAL)
        return 0
    if args.command == "completion":
        from otp_tui.completion import completion_script

        sys.stdout.write(completion_script(build_parser(), args.shell))
        return 0
    settings = load(args, err)
    if settings is None:
        return EXIT_USAGE
    use_language(choose(settings.ui.language, os.environ))
    if args.command == "check":
        return _check(settings, as_json=args.json)
    if args.command == "report":
        from otp_tui.audit_report.command import run_report

        if args.json and args.openmetrics:
            return _fail(_("report takes --json or --openmetrics, not both"), err)
        form = "json" if args.json else "openmetrics" if args.openmetrics else "table"
        return run_report(
            settings,
            sys.stdout,
            err,
            trail=args.trail,
            since=args.since,
            until=args.until,
            form=form,
        )
    if args.command in ("status", "unlock"):
        return _ledger_command(args.command, args.address, settings, err, as_json=args.json)
    return _run_app(args, settings, err)


def _gate(args: argparse.Namespace, err: TextIO) -> int:
    # Only the operator configures the gate: no option but --config, no environment.
    given = [
        flag
        for flag, value in (
            ("--set", args.overrides),
            ("--email", args.email),
            ("--demo", args.demo),
            ("--json", args.json),
        )
        if value
    ]
    if given:
        # TRANSLATORS: {options} lists the options given, e.g. "--set, --email".
        refusal = _("gate takes no {options}: only the operator's config decides")
        return _fail(refusal.format(options=", ".join(given)), err)
    from otp_tui.gate.run import run_gate

    return run_gate(args.config, err)


def _pam(args: argparse.Namespace, err: TextIO) -> int:
    # Only the operator configures: the module passes --config and nothing else.
    if args.overrides or args.email or args.demo or args.json or args.plain:
        return _fail(_("pam takes no option but --config: only the operator's config decides"), err)
    from otp_tui.converse.launch import run_pam

    return run_pam(args.config, sys.stdin.buffer, sys.stdout.buffer)


def _doctor(args: argparse.Namespace, err: TextIO) -> int:
    if args.overrides:
        return _fail(_("doctor reads the gate's own file: no --set"), err)
    from pathlib import Path

    from otp_tui.doctor.command import DoctorOptions, pam_services_naming_the_module, run_doctor

    options = DoctorOptions(
        config=args.config,
        users=tuple(args.users),
        sshd_config=Path(args.sshd_config),
        addr=args.addr,
        host="localhost",
        pam_services=tuple(Path(path) for path in args.pam_services)
        if args.pam_services is not None
        else pam_services_naming_the_module(Path("/etc/pam.d")),
        services=not args.no_relay,
    )
    return run_doctor(options, sys.stdout, err, as_json_output=args.json)


def _check(settings: Settings, *, as_json: bool) -> int:
    if as_json:
        from otp_tui.json_records import check_record, emit

        status, record = check_record(settings)
        emit(record, sys.stdout)
        return status
    from otp_tui.mail.check import check_main
    from otp_tui.state.ledger_check import check_ledger

    status = check_main(settings, sys.stdout)
    ledger_ok = check_ledger(settings, sys.stdout)
    return status or (0 if ledger_ok else 1)


def _ledger_command(
    command: str, address: str, settings: Settings, err: TextIO, *, as_json: bool
) -> int:
    from otp_tui.json_records import emit, unlock_record
    from otp_tui.state.errors import LedgerError
    from otp_tui.state.ledger import open_ledger
    from otp_tui.state.report import AddressArgumentError, status_lines, status_record, unlock

    try:
        with open_ledger(settings) as ledger:
            if command == "status" and as_json:
                emit(status_record(ledger, address), sys.stdout)
            elif command == "status":
                for line in status_lines(ledger, address):
                    print(line)
            elif as_json:
                emit(unlock_record(ledger, address), sys.stdout)
            else:
                print(unlock(ledger, address))
    except AddressArgumentError as error:
        return _fail(str(error), err)
    except LedgerError as error:
        return _fail(str(error), err)
    return 0


def _has_terminal() -> bool:
    # Both front ends write on stderr and read stdin; stdout may be a pipe (for --json). The
    # plain mode needs a terminal too: `ssh host command` has no terminal and no TERM, which
    # chooses the plain mode, and a gate must stay shut there rather than read a pipe.
    return sys.stdin.isatty() and sys.stderr.isatty()


# Terminals that cannot take a full-screen app: the plain line mode is chosen by itself.
PLAIN_TERMS = ("", "dumb")


def _leave_a_line(result: RunResult, *, masked: bool, err: TextIO) -> None:
    """The full screen is gone with the run: one line in the shell says how it ended (stdout
    stays the JSON line's). An address given with --email is masked, as on screen."""
    from otp_tui.core.untrusted import visible
    from otp_tui.flow.wording import left_behind, mask_address

    address = mask_address(result.email) if masked and result.email else result.email
    with contextlib.suppress(OSError):  # a terminal that hung up has nobody to read it
        print(f"{PROG}: {left_behind(result.reason, visible(address))}", file=err, flush=True)


def _run_app(args: argparse.Namespace, settings: Settings, err: TextIO) -> int:
    if args.email is not None:
        from otp_tui.core.address import normalise_address

        try:
            normalise_address(args.email)
        except ValueError as error:
            return _fail(f"--email: {error}", err)
        if settings.demo and not args.demo:
            # A gate that fell into demo mode (no [smtp] host) would show the code on its own
            # screen and open for anyone: demo mode with --email must be asked for by name.
            return _fail(
                _(
                    "--email without an [smtp] host would run in demo mode, where the code is "
                    "shown on screen; configure smtp.host, or add --demo to try it out"
                ),
                err,
            )

    if not _has_terminal():
        from otp_tui.flow.wording import needs_a_terminal

        print(needs_a_terminal(PROG), file=err)
        return EXIT_USAGE

    demo = args.demo or settings.demo
    say = _JsonLine() if args.json else None
    if say is not None:
        from otp_tui.terminal.signals import at_forced_exit

        at_forced_exit(say)  # an ending signal whose exit is forced still gets its line out
    term = os.environ.get("TERM", "")
    if args.plain or term in PLAIN_TERMS:
        from otp_tui.plain.launch import run_plain

        if not args.plain:
            from otp_tui.core.untrusted import visible
            from otp_tui.flow.wording import plain_chosen

            print(plain_chosen(visible(term)), file=err, flush=True)
        outcome = run_plain(settings, email=args.email, demo=demo)
    else:
        from otp_tui.tui.launch import run_interactive

        outcome = run_interactive(settings, email=args.email, demo=demo)
        if outcome.error is None and not args.json:
            _leave_a_line(outcome.result, masked=args.email is not None, err=err)
    if outcome.error is not None:
        print(f"{PROG}: {outcome.error}", file=err)
    if say is not None:
        say(outcome.result)
    return outcome.exit_status


class _JsonLine:
    """Prints the `--json` line once: here at the end, or from the exit deadline's thread if
    an ending signal forces the exit first (`otp_tui.terminal.signals.at_forced_exit`)."""

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._said = False

    def __call__(self, result: RunResult) -> None:
        with self._lock:
            if self._said:
                return
            self._said = True
            # The process's own stdout: while the app runs, Textual stands in for sys.stdout. If
            # stdout was the terminal and it hung up, nobody is left to read the line; the exit
            # status still tells the caller.
            with contextlib.suppress(OSError, ValueError):
                print(result.to_json(), file=sys.__stdout__ or sys.stdout, flush=True)


def _keep_library_logs_off_the_terminal() -> None:
    """No log record and no Python warning reaches the terminal by accident.

    With no handler configured, Python prints any WARNING record to stderr, and stderr is where
    the screen is drawn (aiosmtpd warns about the demo outbox's own settings, for example). What
    otp-tui has to say, it says itself, in one line or on screen.
    """
    import logging

    logging.getLogger().addHandler(logging.NullHandler())
    logging.captureWarnings(True)  # warnings.warn goes to the "py.warnings" logger: nowhere


def console_main() -> None:  # pragma: no cover - the console-script shim
    # First, before any secret is read; here and not in main(), which in-process callers (the
    # tests) use: the process, not one call, gives up core files and tracing, for good.
    _warn_unprotected(protect_process_secrets())
    _keep_library_logs_off_the_terminal()
    from otp_tui.quiet_pipe import quiet_on_closed_pipe

    quiet_on_closed_pipe()  # `otp-tui check | head -1`: no traceback, the check's own status
    try:
        code = main()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    sys.exit(code)
