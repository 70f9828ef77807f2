"""The PAM helper's own entry: `python -I -m otp_tui.converse [--config PATH]`, or the same
helper as a service: `python -I -m otp_tui.converse --serve SOCKET [--config PATH]
[--timeout SECONDS]` (`otp_tui.converse.server`: started once, it forks the same run for each
login the module connects to it for).

`pam_otp_tui.so` starts the helper for every login, and the person waits for the first prompt
while it starts: the README's recipe installs a wrapper that runs this module rather than the
`otp-tui` command line, whose parser (argparse and every subcommand's help) costs more before
that prompt than the helper's one option is worth. The run itself is the same:
`otp_tui.converse.launch.run_pam`, which `otp-tui pam` calls too.

The module passes `--config PATH` and nothing else (pam/PROTOCOL.md); the server's options come
from the operator's unit file. Anything else is a usage error, exit status 2, before anything
is read or sent: only the operator configures.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from otp_tui.hardening import protect_process_secrets
from otp_tui.language import N_
from otp_tui.result import EXIT_USAGE

PROG = "otp_tui.converse"
# The sentence `otp-tui pam` says for the same mistake (one translation for both).
REFUSAL = N_("pam takes no option but --config: only the operator's config decides")
SERVE_USAGE = N_("the helper service takes --serve /ABS/SOCKET [--config PATH] [--timeout 1-3600]")


class UsageError(Exception):
    """Arguments the module never passes."""


@dataclass(frozen=True)
class Serve:
    """`--serve`: where to listen, and the deadline after which a conversation is killed."""

    socket: str
    config: str | None
    timeout: int


def serve_arguments(argv: Sequence[str]) -> Serve:
    """`--serve SOCKET [--config PATH] [--timeout SECONDS]`, each at most once, in any order;
    UsageError for anything else. The timeout is digits only, 1 to 3600, as the module's."""
    values: dict[str, str] = {}
    if len(argv) % 2 != 0:
        raise UsageError
    for flag, value in zip(argv[::2], argv[1::2], strict=True):
        if flag not in ("--serve", "--config", "--timeout") or flag in values or not value:
            raise UsageError
        values[flag] = value
    timeout = values.get("--timeout", "300")
    if "--serve" not in values or not timeout.isdigit() or not 1 <= int(timeout) <= 3600:
        raise UsageError
    return Serve(values["--serve"], values.get("--config"), int(timeout))


def config_argument(argv: Sequence[str]) -> str | None:
    """The `--config` path (None: the gate's default file); UsageError for anything else."""
    if not argv:
        return None
    if len(argv) == 2 and argv[0] == "--config" and argv[1]:
        return argv[1]
    raise UsageError


def main(argv: Sequence[str] | None = None) -> int:
    # First, before any secret is read, as `otp-tui` does. stderr is /dev/null under the
    # module, so what could not be protected goes to the auth log.
    unprotected = protect_process_secrets()
    from otp_tui.converse.launch import run_pam, tell_operator

    for problem in unprotected:
        tell_operator(f"{PROG}: warning: {problem.step}: {problem.reason}")
    args = sys.argv[1:] if argv is None else argv
    if "--serve" in args:
        try:
            serving = serve_arguments(args)
        except UsageError:
            from otp_tui.language import _, choose, use_language

            tell_operator(f"{PROG}: {SERVE_USAGE}")
            use_language(choose(None, os.environ))  # the operator's terminal or unit
            print(f"{PROG}: {_(SERVE_USAGE)}", file=sys.stderr)
            return EXIT_USAGE
        from otp_tui.converse.server import serve

        return serve(serving.socket, serving.config, serving.timeout)
    try:
        config = config_argument(args)
    except UsageError:
        from otp_tui.language import _, choose, use_language

        tell_operator(f"{PROG}: {REFUSAL}")  # the auth log in the code's own words
        use_language(choose(None, os.environ))  # a person who runs it by hand reads theirs
        print(f"{PROG}: {_(REFUSAL)}", file=sys.stderr)
        return EXIT_USAGE
    return run_pam(config, sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    sys.exit(main())
