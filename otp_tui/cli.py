"""The command line: arguments, configuration, subcommands, exit statuses and `--json`.

Imports are kept inside the functions that need them: `otp-tui` is started by people waiting
for it (often over SSH), so nothing loads before it is used.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from otp_tui.hardening import protect_process_secrets
from otp_tui.result import EXIT_INTERRUPTED, EXIT_USAGE

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings

PROG = "otp-tui"


def _common_options(*, suppress: bool) -> argparse.ArgumentParser:
    """--config and --set, accepted before or after the subcommand.

    On a subcommand their defaults are suppressed: otherwise argparse would let the
    subcommand's default overwrite a value given before it (`otp-tui --config X check`).
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS if suppress else None,
        help="TOML configuration file (default: $OTP_TUI_CONFIG, "
        "else config.toml in the user configuration directory)",
    )
    common.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=argparse.SUPPRESS if suppress else [],
        metavar="SECTION.KEY=VALUE",
        help="override one configuration key, e.g. --set policy.code_ttl=300 (repeatable)",
    )
    return common


def _parser() -> argparse.ArgumentParser:
    common = _common_options(suppress=True)
    parser = argparse.ArgumentParser(
        prog=PROG,
        parents=[_common_options(suppress=False)],
        description="Prove that the person at this terminal controls an email address: "
        "mail them a one-time code and check what they type.",
    )
    parser.add_argument("--email", metavar="ADDRESS", help="verify this address (locked)")
    parser.add_argument(
        "--demo", action="store_true", help="use the embedded loopback outbox, whatever the config"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object with the result on stdout"
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "check", parents=[common], help="check the SMTP configuration without sending mail"
    )
    status = commands.add_parser(
        "status", parents=[common], help="show what the ledger holds for an address"
    )
    status.add_argument("address")
    unlock = commands.add_parser("unlock", parents=[common], help="lift a lock on an address")
    unlock.add_argument("address")
    return parser


class _VersionAction(argparse.Action):
    """--version, looked up only when asked for: reading package metadata scans site-packages,
    and argparse's own "version" action would do that on every start."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"{PROG} {_version()}")
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("otp-tui")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def _warn_unprotected(problems: list[str]) -> None:
    for problem in problems:
        print(f"{PROG}: warning: {problem}", file=sys.stderr)


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
    args = _parser().parse_args(argv)
    err = sys.stderr
    settings = load(args, err)
    if settings is None:
        return EXIT_USAGE
    if args.command == "check":
        from otp_tui.mail.check import check_main

        return check_main(settings, sys.stdout)
    if args.command in ("status", "unlock"):
        return _ledger_command(args.command, args.address, settings, err)
    return _run_app(args, settings, err)


def _ledger_command(command: str, address: str, settings: Settings, err: TextIO) -> int:
    from otp_tui.state.errors import LedgerError
    from otp_tui.state.ledger import open_ledger
    from otp_tui.state.report import InvalidAddress, status_lines, unlock

    try:
        with open_ledger(settings) as ledger:
            if command == "status":
                for line in status_lines(ledger, address):
                    print(line)
            else:
                print(unlock(ledger, address))
    except InvalidAddress as error:
        return _fail(str(error), err)
    except LedgerError as error:
        return _fail(str(error), err)
    return 0


def _has_terminal() -> bool:
    # Textual draws on stderr and reads stdin; stdout may be a pipe (for --json).
    return sys.stdin.isatty() and sys.stderr.isatty()


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
                "--email without an [smtp] host would run in demo mode, where the code is "
                "shown on screen; configure smtp.host, or add --demo to try it out",
                err,
            )

    if not _has_terminal():
        print(f"{PROG} needs an interactive terminal; try ssh -t", file=err)
        return EXIT_USAGE

    from otp_tui.tui.launch import run_interactive

    outcome = run_interactive(settings, email=args.email, demo=args.demo or settings.demo)
    if outcome.error is not None:
        print(f"{PROG}: {outcome.error}", file=err)
    result = outcome.result
    if args.json:
        # If stdout was the terminal and it hung up, nobody is left to read the line; the exit
        # status still tells the caller.
        with contextlib.suppress(OSError):
            print(result.to_json(), flush=True)
    return outcome.exit_status


def console_main() -> None:  # pragma: no cover - the console-script shim
    # First, before any secret is read; here and not in main(), which in-process callers (the
    # tests) use: the process, not one call, gives up core files and tracing, for good.
    _warn_unprotected(protect_process_secrets())
    try:
        code = main()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    sys.exit(code)
