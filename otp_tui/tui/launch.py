"""Wires the real parts together for an interactive run: clocks, ledger, audit trail, the app."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otp_tui.config.schema import Settings
from otp_tui.result import EXIT_USAGE, RunResult

if TYPE_CHECKING:
    from otp_tui.flow.run import Run
    from otp_tui.tui.app import OtpApp


@dataclass(frozen=True)
class LaunchOutcome:
    result: RunResult
    exit_status: int
    error: str | None  # one line for stderr, printed after the terminal is restored


def build_app(run: Run) -> OtpApp:
    """The app for a run, as the program runs it (the snapshot tests build theirs here too)."""
    from otp_tui.tui.app import OtpApp
    from otp_tui.tui.driver import StderrSizedDriver

    return OtpApp(run, driver_class=StderrSizedDriver)


def run_interactive(settings: Settings, *, email: str | None, demo: bool) -> LaunchOutcome:
    from otp_tui.flow.build import make_run
    from otp_tui.flow.requester import requester_from_environment
    from otp_tui.state.audit import open_audit_log
    from otp_tui.state.errors import AuditError
    from otp_tui.state.lazy import LazyLedger

    failed = RunResult(verified=False, email=email or "", reason="failed")
    ledger = LazyLedger(settings)
    try:
        audit = open_audit_log(settings)
    except AuditError as error:
        return LaunchOutcome(failed, EXIT_USAGE, str(error))
    run = make_run(
        settings,
        email=email,
        demo=demo,
        ledger=ledger,
        clock=time.monotonic,
        wall_clock=time.time,
        audit=audit,
        requester=requester_from_environment,
    )
    app = build_app(run)
    try:
        app.run()
    finally:
        ledger.close()
        audit.close()
    return outcome_of(app, run, failed)


def outcome_of(app: OtpApp, run: Run, failed: RunResult) -> LaunchOutcome:
    """What the caller is told; any doubt is a failure (fail closed)."""
    ending = run.ending
    result = app.return_value
    return_code = app.return_code if app.return_code is not None else 1
    error = app.error or (ending.error if ending is not None else None)
    if result is None or (return_code == 0 and not result.verified):
        result = ending.result if ending is not None else failed
        return_code = result.exit_status or 1
    if return_code == 0 and not (ending is not None and ending.verified):
        return_code = 1
        result = failed
    return LaunchOutcome(result, return_code, error)
