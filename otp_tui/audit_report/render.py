"""A summary as a table for people, as JSON for scripts, and as OpenMetrics text.

The table is worded in the language in use; JSON and metrics keep the code's words (the
trail's event names) in any language. Every user name, service and origin comes from a file and
is shown through `visible` in the table; JSON escapes it, metrics escape it as the format asks.

Metrics are for node_exporter's textfile collector (write to a temporary file in its folder and
rename it, as its documentation asks): gauges of the events in the period, by event, by user
and by service, the period's bounds and the lines read. No email address, no code and no
client IP address: an IP per label value would also grow the series without bound.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from otp_tui.audit_report.summary import SHOWN_EVENTS, Summary
from otp_tui.core.untrusted import visible
from otp_tui.language import _, pgettext


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def _shown_when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def as_record(summary: Summary) -> dict[str, Any]:
    """The summary for `--json`."""

    def table(rows: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
        return {key: dict(sorted(counts.items())) for key, counts in sorted(rows.items())}

    return {
        "files": [str(path) for path in summary.files],
        "since": _when(summary.since),
        "until": _when(summary.until),
        "lines": summary.lines,
        "malformed": summary.malformed,
        "first": _when(summary.first),
        "last": _when(summary.last),
        "totals": dict(sorted(summary.totals.items())),
        "by_user": table(summary.by_user),
        "by_service": table(summary.by_service),
        "by_origin": table(summary.by_origin),
    }


def as_json(summary: Summary) -> str:
    return json.dumps(as_record(summary), ensure_ascii=True) + "\n"


def _headings() -> list[str]:
    return [
        # TRANSLATORS: column headings of `otp-tui report`'s table, one per audit event: keep
        # them short (a word).
        pgettext("report column", "sent"),
        pgettext("report column", "verified"),
        pgettext("report column", "wrong"),
        pgettext("report column", "locked"),
        pgettext("report column", "failed"),
        pgettext("report column", "no mail"),
        pgettext("report column", "cancelled"),
        pgettext("report column", "interrupted"),
    ]


def as_table(summary: Summary) -> str:
    """The summary for people: one heading line, then a row for all and one per user,
    service and origin, a column per event."""
    start = _shown_when(summary.since) if summary.since is not None else _("the start")
    # TRANSLATORS: the first line of `otp-tui report`; {start} and {end} are a date and time
    # (or "the start"), {files} a number of files, {lines} of lines.
    heading = _(
        "Audit trail from {start} to {end}: {files} files, {lines} lines, {malformed} malformed"
    ).format(
        start=start,
        end=_shown_when(summary.until),
        files=len(summary.files),
        lines=summary.lines,
        malformed=summary.malformed,
    )
    headings = _headings()
    rows: list[tuple[str, Counter[str]]] = [(_("all"), summary.totals)]
    for label, table in (
        # TRANSLATORS: the label of a group of rows in `otp-tui report`, then a user's name.
        (_("user"), summary.by_user),
        # TRANSLATORS: a group of rows in `otp-tui report`: the PAM service (sshd, sudo).
        (_("service"), summary.by_service),
        # TRANSLATORS: a group of rows in `otp-tui report`: the client's IP address.
        (_("origin"), summary.by_origin),
    ):
        rows += [(f"{label} {visible(key)}", counts) for key, counts in sorted(table.items())]
    name_width = max(len(name) for name, _counts in rows)
    widths = [
        max(len(title), *(len(str(counts[event])) for _name, counts in rows))
        for title, event in zip(headings, SHOWN_EVENTS, strict=True)
    ]
    lines = [heading, ""]
    lines.append(
        " " * name_width
        + "".join(f"  {t:>{w}}" for t, w in zip(headings, widths, strict=True)).rstrip()
    )
    for name, counts in rows:
        cells = "".join(
            f"  {counts[event]:>{w}}" for event, w in zip(SHOWN_EVENTS, widths, strict=True)
        )
        lines.append(f"{name:<{name_width}}{cells}")
    return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    """A label value as OpenMetrics writes it: backslash, quote and newline escaped, and no
    control character left raw for whoever reads the file in a terminal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return visible(escaped)


def as_openmetrics(summary: Summary) -> str:
    out: list[str] = []

    def family(name: str, help_text: str) -> None:
        out.append(f"# TYPE {name} gauge")
        out.append(f"# HELP {name} {help_text}")

    family("otp_tui_audit_events", "Audit events in the period, by event.")
    for event, count in sorted(summary.totals.items()):
        out.append(f'otp_tui_audit_events{{event="{_label(event)}"}} {count}')
    family("otp_tui_audit_user_events", "Audit events in the period, by event and user.")
    for user, counts in sorted(summary.by_user.items()):
        for event, count in sorted(counts.items()):
            labels = f'event="{_label(event)}",user="{_label(user)}"'
            out.append(f"otp_tui_audit_user_events{{{labels}}} {count}")
    family("otp_tui_audit_service_events", "Audit events in the period, by event and service.")
    for service, counts in sorted(summary.by_service.items()):
        for event, count in sorted(counts.items()):
            labels = f'event="{_label(event)}",service="{_label(service)}"'
            out.append(f"otp_tui_audit_service_events{{{labels}}} {count}")
    family("otp_tui_audit_lines", "Lines read from the audit trail's files.")
    out.append(f"otp_tui_audit_lines {summary.lines}")
    family("otp_tui_audit_malformed_lines", "Lines that were not audit lines, skipped.")
    out.append(f"otp_tui_audit_malformed_lines {summary.malformed}")
    family("otp_tui_audit_period_end_seconds", "The end of the period, Unix time.")
    out.append(f"otp_tui_audit_period_end_seconds {summary.until.timestamp():.3f}")
    if summary.since is not None:
        family("otp_tui_audit_period_start_seconds", "The start of the period, Unix time.")
        out.append(f"otp_tui_audit_period_start_seconds {summary.since.timestamp():.3f}")
    if summary.last is not None:
        family("otp_tui_audit_last_event_seconds", "The newest event in the period, Unix time.")
        out.append(f"otp_tui_audit_last_event_seconds {summary.last.timestamp():.3f}")
    out.append("# EOF")
    return "\n".join(out) + "\n"
