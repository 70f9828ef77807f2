"""Why the gate stays shut before a verification starts: one line and an exit status."""

from __future__ import annotations

from otp_tui.result import EXIT_NOT_VERIFIED, EXIT_USAGE


class GateRefusal(Exception):
    """The gate cannot run as configured or invoked; `str()` is the one line to print.

    Exit status 2, as for any other configuration problem: the operator must act.
    """

    exit_status = EXIT_USAGE


class NoAddress(GateRefusal):
    """The user has no address on file: not verified (exit 1), nothing is wrong with the gate."""

    exit_status = EXIT_NOT_VERIFIED
