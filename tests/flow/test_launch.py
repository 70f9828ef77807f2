"""How a run ended, as the caller is told: one rule for every front end, failing closed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from otp_tui.flow.launch import LaunchOutcome, outcome_of_ending
from otp_tui.flow.run import Run
from otp_tui.flow.views import Finished, Notice
from otp_tui.result import RunResult

FAILED = RunResult(verified=False, email="user@example.com", reason="failed")


def ended(reason: str, *, exit_status: int | None = None, error: str | None = None) -> Any:
    result = RunResult(verified=reason == "verified", email="user@example.com", reason=reason)  # type: ignore[arg-type]
    status = result.exit_status if exit_status is None else exit_status
    ending = Finished(result, Notice(), "user@example.com", False, status, error)
    return SimpleNamespace(ending=ending)


def test_the_runs_own_ending_stands_when_nothing_doubts_it():
    run = ended("verified")
    assert outcome_of_ending(run, FAILED, status=0) == LaunchOutcome(run.ending.result, 0, None)
    locked = ended("locked")
    assert outcome_of_ending(locked, FAILED) == LaunchOutcome(locked.ending.result, 1, None)


def test_no_ending_is_a_failure():
    assert outcome_of_ending(cast(Run, SimpleNamespace(ending=None)), FAILED) == LaunchOutcome(
        FAILED, 1, None
    )


@pytest.mark.parametrize("reason", ["verified", "allowed_without_mail"])
def test_a_front_end_that_failed_never_lets_in(reason):
    outcome = outcome_of_ending(ended(reason), FAILED, error="unexpected error (KeyError)")
    assert outcome == LaunchOutcome(FAILED, 1, "unexpected error (KeyError)")


def test_a_front_end_that_failed_keeps_a_refusal_and_its_reason():
    run = ended("locked")
    outcome = outcome_of_ending(run, FAILED, error="unexpected error (KeyError)")
    assert outcome == LaunchOutcome(run.ending.result, 1, "unexpected error (KeyError)")


def test_a_front_end_that_ended_with_another_status_does_not_let_in():
    assert outcome_of_ending(ended("verified"), FAILED, status=1) == LaunchOutcome(FAILED, 1, None)


def test_a_storage_failure_keeps_its_status_and_line():
    run = ended("failed", exit_status=2, error="the ledger is unusable")
    outcome = outcome_of_ending(run, FAILED, status=2)
    assert outcome == LaunchOutcome(run.ending.result, 2, "the ledger is unusable")
