"""Runs the Textual app on a run put together by `otp_tui.flow.launch`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from otp_tui.flow.launch import LaunchOutcome, launch, outcome_of_ending
from otp_tui.result import RunResult

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings
    from otp_tui.flow.run import Run
    from otp_tui.tui.app import OtpApp

__all__ = ["LaunchOutcome", "build_app", "outcome_of", "run_interactive"]


def build_app(run: Run) -> OtpApp:
    """The app for a run, as the program runs it (the snapshot tests build theirs here too)."""
    from otp_tui.terminal.driver import StderrSizedDriver
    from otp_tui.tui.app import OtpApp

    return OtpApp(run, driver_class=StderrSizedDriver)


def run_interactive(
    settings: Settings,
    *,
    email: str | None,
    demo: bool,
    allow_on_mail_failure: bool = False,
    session_timeout: float | None = None,
) -> LaunchOutcome:
    """The Textual front end; `allow_on_mail_failure` is the gate's `on_mail_failure = "allow"`,
    `session_timeout` its whole-run deadline in seconds."""

    def drive(run: Run, failed: RunResult) -> LaunchOutcome:
        app = build_app(run)
        # No mouse reporting: the app is keyboard-only, and with it on, the terminal's own text
        # selection (copying the code from a mail into the entry, over SSH) stops working.
        app.run(mouse=False)
        return outcome_of(app, run, failed)

    return launch(
        settings,
        email=email,
        demo=demo,
        drive=drive,
        allow_on_mail_failure=allow_on_mail_failure,
        session_timeout=session_timeout,
    )


def outcome_of(app: OtpApp, run: Run, failed: RunResult) -> LaunchOutcome:
    """What the caller is told: the run's ending, as the app ended (fail closed)."""
    status = app.return_code if app.return_code is not None else 1
    return outcome_of_ending(run, failed, error=app.error, status=status)
