"""One interactive run with the real parts: clocks, ledger and audit trail, opened and closed.

Both front ends start here (`otp_tui.tui.launch.run_interactive`, `otp_tui.plain.run_plain`), so
a run is put together one way only; each front end brings the function that drives the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otp_tui.result import EXIT_USAGE, RunResult

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings
    from otp_tui.flow.requester import Caller
    from otp_tui.flow.run import Auditor, Run
    from otp_tui.state.audit import AuditEvent


@dataclass(frozen=True)
class LaunchOutcome:
    result: RunResult
    exit_status: int
    error: str | None  # one line for stderr, printed after the terminal is restored


class _AuditWithFields:
    """The audit trail with a front end's own fields on every line (the PAM service)."""

    def __init__(self, audit: Auditor, fields: Mapping[str, str]) -> None:
        self._audit = audit
        self._fields = dict(fields)

    def record(self, event: AuditEvent, address: str, **fields: object) -> None:
        self._audit.record(event, address, **self._fields, **fields)


def launch(
    settings: Settings,
    *,
    email: str | None,
    demo: bool,
    drive: Callable[[Run, RunResult], LaunchOutcome],
    allow_on_mail_failure: bool = False,
    session_timeout: float | None = None,
    caller: Caller | None = None,
    audit_fields: Mapping[str, str] | None = None,
) -> LaunchOutcome:
    """Open the ledger and the audit trail, build the run, let `drive` run it, close both.

    `drive` gets the run and the result to report when nothing better is known. `caller` is
    for a front end that knows better than the process who asks (the PAM helper runs as the
    service user, for the user PAM names); `audit_fields` go on every audit line.
    """
    from otp_tui.flow.build import make_run
    from otp_tui.flow.requester import caller_from_environment
    from otp_tui.state.audit import open_audit_log, requesting_user
    from otp_tui.state.errors import AuditError
    from otp_tui.state.lazy import LazyLedger

    failed = RunResult(verified=False, email=email or "", reason="failed")
    ledger = LazyLedger(settings)
    callers: list[Caller] = [] if caller is None else [caller]

    def asking() -> Caller:
        # Read once, when first needed (pwd stays off the start-up path), then the same answer
        # for the budgets and the audit trail: the gate's user under sudo, else the real uid's.
        if not callers:
            callers.append(caller_from_environment(requesting_user()))
        return callers[0]

    try:
        opened = open_audit_log(settings, who=lambda: asking().labels())
    except AuditError as error:
        return LaunchOutcome(failed, EXIT_USAGE, str(error))
    audit: Auditor = _AuditWithFields(opened, audit_fields) if audit_fields else opened
    run = make_run(
        settings,
        email=email,
        demo=demo,
        ledger=ledger,
        clock=time.monotonic,
        wall_clock=time.time,
        audit=audit,
        requester=lambda: asking().requester,
        # A run on a login user's behalf (the gate, the PAM conversation) is a login: its mail
        # says so.
        login_user=caller.user if caller is not None else requesting_user(),
        allow_on_mail_failure=allow_on_mail_failure,
        session_timeout=session_timeout,
    )
    try:
        return drive(run, failed)
    finally:
        ledger.close()
        opened.close()


def outcome_of_ending(
    run: Run, failed: RunResult, *, error: str | None = None, status: int | None = None
) -> LaunchOutcome:
    """What the caller is told about a run a front end drove: the one rule for every front end.

    The run's own ending, unless something casts doubt on it: no ending at all, an ending whose
    exit status and result disagree, a front end that failed unexpectedly (`error`, its one
    line), or one that ended with another status than the run's (`status`). In doubt an ending
    that lets in does not stand (fail closed); one that does not still says why.
    """
    ending = run.ending
    if ending is None:
        return LaunchOutcome(failed, 1, error)
    line = error or ending.error
    doubt = (
        error is not None
        or (ending.exit_status == 0) != ending.result.lets_in
        or (status is not None and status != ending.exit_status)
    )
    if not doubt:
        return LaunchOutcome(ending.result, ending.exit_status, line)
    result = failed if ending.result.lets_in else ending.result
    exit_status = 1 if error is not None or ending.exit_status == 0 else ending.exit_status
    return LaunchOutcome(result, exit_status, line)
