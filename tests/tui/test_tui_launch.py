"""What the program is told when the TUI ends (`otp_tui.tui.launch`): the run's ending,
read by the one rule."""

from __future__ import annotations

from types import SimpleNamespace

from otp_tui.flow.views import Finished, Notice
from otp_tui.result import RunResult
from otp_tui.tui.launch import outcome_of

FAILED = RunResult(verified=False, email="user@example.com", reason="failed")
VERIFIED = RunResult(verified=True, email="user@example.com", reason="verified")


def test_an_app_that_crashed_after_verifying_reports_not_verified():
    # The app's exception handler exits with no result and status 1, after the run verified.
    run = SimpleNamespace(ending=Finished(VERIFIED, Notice("verified"), "u", False, 0))
    app = SimpleNamespace(return_value=None, return_code=1, error="unexpected error (KeyError)")
    outcome = outcome_of(app, run, FAILED)  # type: ignore[arg-type]
    assert not outcome.result.verified
    assert outcome.exit_status == 1
    assert outcome.error == "unexpected error (KeyError)"


def test_an_app_that_ended_as_the_run_did_reports_the_run():
    run = SimpleNamespace(ending=Finished(VERIFIED, Notice("verified"), "u", False, 0))
    app = SimpleNamespace(return_value=VERIFIED, return_code=0, error=None)
    outcome = outcome_of(app, run, FAILED)  # type: ignore[arg-type]
    assert (outcome.result, outcome.exit_status, outcome.error) == (VERIFIED, 0, None)
