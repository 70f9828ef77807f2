"""The counts a report shows: each event, in all and by user, by service and by origin.

The events keep the audit trail's own names (`verified`, `wrong_code`, `locked`,
`allowed_without_mail`, ...). A line's service is its `pam_service` field (a PAM login records
`sshd`, `sudo`, ...), else "-"; its origin is the client's IP address (`ssh_client`), else the
remote host PAM was given (`rhost`), else "local". No email address is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# The events a table shows, in this order; JSON and metrics carry every event seen.
SHOWN_EVENTS = (
    "sent",
    "verified",
    "wrong_code",
    "locked",
    "send_failed",
    "allowed_without_mail",
    "cancelled",
    "interrupted",
)
NO_SERVICE = "-"
LOCAL = "local"

# What one report may hold apart; further users, services or origins are counted together
# under OTHERS, so that a trail full of distinct values cannot grow the report without bound.
MAX_KEYS = 1000
OTHERS = "(others)"


@dataclass
class Summary:
    files: list[Path]
    since: datetime | None
    until: datetime
    lines: int = 0
    malformed: int = 0
    first: datetime | None = None
    last: datetime | None = None
    totals: Counter[str] = field(default_factory=Counter)
    by_user: dict[str, Counter[str]] = field(default_factory=dict)
    by_service: dict[str, Counter[str]] = field(default_factory=dict)
    by_origin: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return sum(self.totals.values())


def _text(value: Any, default: str) -> str:
    return value if isinstance(value, str) and value else default


def _count(table: dict[str, Counter[str]], key: str, event: str) -> None:
    if key not in table and len(table) >= MAX_KEYS:
        key = OTHERS
    table.setdefault(key, Counter())[event] += 1


def summarise(
    records: Iterable[dict[str, Any]], files: list[Path], since: datetime | None, until: datetime
) -> Summary:
    """Count `records` (each with an aware datetime `ts`, as `trail.read_trail` yields)."""
    summary = Summary(files=files, since=since, until=until)
    for record in records:
        event = record["event"]
        moment: datetime = record["ts"]
        summary.first = moment if summary.first is None else min(summary.first, moment)
        summary.last = moment if summary.last is None else max(summary.last, moment)
        summary.totals[event] += 1
        _count(summary.by_user, _text(record.get("user"), "?"), event)
        _count(summary.by_service, _text(record.get("pam_service"), NO_SERVICE), event)
        origin = record.get("ssh_client") or record.get("rhost")
        _count(summary.by_origin, _text(origin, LOCAL), event)
    return summary
