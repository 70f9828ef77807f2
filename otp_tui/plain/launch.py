"""Runs the plain line mode on a run put together by `otp_tui.flow.launch`."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

from otp_tui.flow.launch import LaunchOutcome, launch, outcome_of_ending

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings
    from otp_tui.flow.run import Run
    from otp_tui.result import RunResult


def run_plain(
    settings: Settings, *, email: str | None, demo: bool, allow_on_mail_failure: bool = False
) -> LaunchOutcome:
    """Line by line on stdin and stderr (stdout stays free for `--json`), like the TUI."""

    def drive(run: Run, failed: RunResult) -> LaunchOutcome:
        from otp_tui.plain.line_mode import LineMode

        line_mode = LineMode(run, sys.stderr)
        asyncio.run(line_mode.main())
        return outcome_of_ending(run, failed, error=line_mode.error)

    return launch(
        settings,
        email=email,
        demo=demo,
        drive=drive,
        allow_on_mail_failure=allow_on_mail_failure,
    )
