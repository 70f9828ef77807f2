"""Wires the real parts together for an interactive run: clocks, ledger, audit trail, the app."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otp_tui.config.schema import Settings
from otp_tui.result import EXIT_USAGE, RunResult

if TYPE_CHECKING:
    from otp_tui.core.machine import Verification


@dataclass(frozen=True)
class LaunchOutcome:
    result: RunResult
    exit_status: int
    error: str | None  # one line for stderr, printed after the terminal is restored


def run_interactive(settings: Settings, *, email: str | None, demo: bool) -> LaunchOutcome:
    from otp_tui.state.audit import open_audit_log
    from otp_tui.state.errors import AuditError, LedgerError
    from otp_tui.state.lazy import LazyLedger
    from otp_tui.tui.app import OtpApp

    failed = RunResult(verified=False, email=email or "", reason="failed")
    ledger = LazyLedger(settings)
    try:
        audit = open_audit_log(settings)
    except AuditError as error:
        return LaunchOutcome(failed, EXIT_USAGE, str(error))

    def make_machine() -> Verification:
        # Built on first use, after the first frame: nothing in the core is needed to draw it.
        from otp_tui.core.address import AccessPolicy
        from otp_tui.core.machine import Verification
        from otp_tui.core.policy import Policy

        return Verification(
            Policy(**settings.policy.model_dump()),
            ledger,
            time.monotonic,
            access=AccessPolicy.from_lists(
                settings.access.allowed_domains, settings.access.allowed_addresses
            ),
        )

    from otp_tui.tui.driver import StderrSizedDriver

    app = OtpApp(
        settings,
        make_machine,
        driver_class=StderrSizedDriver,
        demo=demo,
        email=email,
        clock=time.monotonic,
        wall_clock=time.time,
        audit=audit,
        storage_errors=(LedgerError, AuditError),
    )
    try:
        result = app.run()
    finally:
        ledger.close()
        audit.close()
    return_code = app.return_code if app.return_code is not None else 1
    if result is None or (return_code == 0 and not result.verified):
        # Fail closed: an exit with no result, or a zero status without "verified", is a failure.
        result = app.result or failed
        return_code = result.exit_status if result.exit_status else 1
    return LaunchOutcome(result, return_code, app.error)
