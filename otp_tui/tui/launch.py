"""Runs the Textual app on a run put together by `otp_tui.flow.launch`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from otp_tui.flow.launch import LaunchOutcome, launch
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
    settings: Settings, *, email: str | None, demo: bool, allow_on_mail_failure: bool = False
) -> LaunchOutcome:
    """The Textual front end; `allow_on_mail_failure` is the gate's `on_mail_failure = "allow"`."""

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
    )


def outcome_of(app: OtpApp, run: Run, failed: RunResult) -> LaunchOutcome:
    """What the caller is told; any doubt is a failure (fail closed)."""
    ending = run.ending
    result = app.return_value
    return_code = app.return_code if app.return_code is not None else 1
    error = app.error or (ending.error if ending is not None else None)
    if result is None or (return_code == 0 and not result.lets_in):
        result = ending.result if ending is not None else failed
        return_code = result.exit_status or 1
    if return_code == 0 and not (ending is not None and ending.result.lets_in):
        return_code = 1
        result = failed
    return LaunchOutcome(result, return_code, error)
