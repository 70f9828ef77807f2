"""One interactive run with the real parts: clocks, ledger and audit trail, opened and closed.

Both front ends start here (`otp_tui.tui.launch.run_interactive`, `otp_tui.plain.run_plain`), so
a run is put together one way only; each front end brings the function that drives the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from otp_tui.result import EXIT_USAGE, RunResult

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings
    from otp_tui.flow.run import Auditor, Run
    from otp_tui.state.audit import AuditEvent


@dataclass(frozen=True)
class Caller:
    """Who a run is for, when the front end knows it better than the process does (the PAM
    helper runs as the service user, for the user PAM names).

    `user` is what the audit trail and the per-requester budgets name; `client` the remote
    address when it is an IP address (None otherwise); `audit_fields` go on every audit line
    (the PAM service, the remote host as PAM gave it).
    """

    user: str
    client: str | None = None
    audit_fields: Mapping[str, str] = field(default_factory=dict)


class _AuditWithFields:
    """The audit trail with the caller's fields on every line."""

    def __init__(self, audit: Auditor, fields: Mapping[str, str]) -> None:
        self._audit = audit
        self._fields = dict(fields)

    def record(self, event: AuditEvent, address: str, **fields: object) -> None:
        self._audit.record(event, address, **self._fields, **fields)


@dataclass(frozen=True)
class LaunchOutcome:
    result: RunResult
    exit_status: int
    error: str | None  # one line for stderr, printed after the terminal is restored


def launch(
    settings: Settings,
    *,
    email: str | None,
    demo: bool,
    drive: Callable[[Run, RunResult], LaunchOutcome],
    allow_on_mail_failure: bool = False,
    caller: Caller | None = None,
) -> LaunchOutcome:
    """Open the ledger and the audit trail, build the run, let `drive` run it, close both.

    `drive` gets the run and the result to report when nothing better is known.
    """
    from otp_tui.state.audit import on_behalf_of

    with on_behalf_of(caller.user) if caller is not None else nullcontext():
        return _launch(settings, email, demo, drive, allow_on_mail_failure, caller)


def _launch(
    settings: Settings,
    email: str | None,
    demo: bool,
    drive: Callable[[Run, RunResult], LaunchOutcome],
    allow_on_mail_failure: bool,
    caller: Caller | None,
) -> LaunchOutcome:
    from otp_tui.core.limits import Requester
    from otp_tui.flow.build import make_run
    from otp_tui.flow.requester import requester_from_environment
    from otp_tui.state.audit import open_audit_log, requesting_user
    from otp_tui.state.errors import AuditError
    from otp_tui.state.lazy import LazyLedger

    failed = RunResult(verified=False, email=email or "", reason="failed")
    ledger = LazyLedger(settings)
    try:
        audit = open_audit_log(settings)
    except AuditError as error:
        return LaunchOutcome(failed, EXIT_USAGE, str(error))

    def requester() -> Requester:
        if caller is not None:
            return Requester(user=caller.user, ssh_client=caller.client)
        # The same person the audit trail names: the gate's user under sudo, else the real uid's.
        return requester_from_environment(requesting_user())

    run = make_run(
        settings,
        email=email,
        demo=demo,
        ledger=ledger,
        clock=time.monotonic,
        wall_clock=time.time,
        audit=_AuditWithFields(audit, caller.audit_fields) if caller is not None else audit,
        requester=requester,
        allow_on_mail_failure=allow_on_mail_failure,
    )
    try:
        return drive(run, failed)
    finally:
        ledger.close()
        audit.close()


def outcome_of_ending(run: Run, failed: RunResult, error: str | None = None) -> LaunchOutcome:
    """What the caller is told from the run's own ending; no ending, or an ending whose status
    and result disagree, is a failure (fail closed)."""
    ending = run.ending
    if ending is None:
        return LaunchOutcome(failed, 1, error)
    if (ending.exit_status == 0) != ending.result.lets_in:
        return LaunchOutcome(failed, ending.exit_status or 1, error or ending.error)
    return LaunchOutcome(ending.result, ending.exit_status, error or ending.error)
