"""`otp-tui report`'s run: which files, which period, which form; exit 0, or 2 with one line."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from otp_tui.language import _

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings

FORMATS = ("table", "json", "openmetrics")


def run_report(
    settings: Settings,
    out: TextIO,
    err: TextIO,
    *,
    trail: str | None,
    since: str | None,
    until: str | None,
    form: str,
    now: datetime | None = None,
) -> int:
    from otp_tui.audit_report.period import PeriodError, parse_moment
    from otp_tui.audit_report.render import as_json, as_openmetrics, as_table
    from otp_tui.audit_report.summary import summarise
    from otp_tui.audit_report.trail import TrailCount, read_trail, trail_files
    from otp_tui.core.untrusted import visible
    from otp_tui.state.audit import default_audit_path

    now = now or datetime.now(UTC)
    try:
        start = parse_moment(since, now) if since is not None else None
        end = parse_moment(until, now) if until is not None else now
    except PeriodError as error:
        err.write(f"otp-tui report: {error}\n")
        return 2
    path = Path(trail) if trail else (settings.state.audit_log or default_audit_path())
    files = trail_files(path)
    if not files:
        # TRANSLATORS: `otp-tui report`; {path} is the audit trail's file.
        message = _("no audit trail at {path} (set [state] audit_log, or give --trail PATH)")
        err.write("otp-tui report: " + message.format(path=visible(str(path))) + "\n")
        return 2
    count = TrailCount()
    try:
        summary = summarise(read_trail(files, start, end, count), files, start, end)
    except (OSError, EOFError, zlib.error) as error:  # a .gz cut short or damaged
        # TRANSLATORS: `otp-tui report`; {reason} is the system's (Permission denied, ...).
        message = _("the audit trail cannot be read: {reason}")
        reason = f"{count.current}: {getattr(error, 'strerror', None) or error}"
        err.write("otp-tui report: " + message.format(reason=visible(reason.strip())) + "\n")
        return 2
    summary.lines, summary.malformed = count.lines, count.malformed
    render = {"table": as_table, "json": as_json, "openmetrics": as_openmetrics}[form]
    out.write(render(summary))
    return 0
