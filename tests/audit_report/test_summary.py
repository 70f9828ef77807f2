"""The counts: each event in all and by user, service and origin; bounded however many."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from audit_lines import NOW

from otp_tui.audit_report.summary import MAX_KEYS, OTHERS, summarise


def record(event: str, **fields: Any) -> dict[str, Any]:
    return {"ts": NOW, "event": event, "user": "alice", "ssh_client": None, **fields}


def test_each_line_counts_once_in_all_and_in_each_grouping() -> None:
    summary = summarise(
        [
            record("verified", ssh_client="192.0.2.7", pam_service="sshd"),
            record("locked", pam_service="sudo", rhost="198.51.100.3"),
            record("wrong_code", user="bob"),
            record("verified", ts=NOW - timedelta(hours=1)),
        ],
        [Path("audit.jsonl")],
        None,
        NOW,
    )
    assert summary.totals == {"verified": 2, "wrong_code": 1, "locked": 1}
    assert summary.by_user == {"alice": {"verified": 2, "locked": 1}, "bob": {"wrong_code": 1}}
    assert summary.by_service == {
        "sshd": {"verified": 1},
        "sudo": {"locked": 1},
        "-": {"verified": 1, "wrong_code": 1},
    }
    assert summary.by_origin == {
        "192.0.2.7": {"verified": 1},
        "198.51.100.3": {"locked": 1},
        "local": {"verified": 1, "wrong_code": 1},
    }
    assert (summary.first, summary.last) == (NOW - timedelta(hours=1), NOW)


def test_past_the_bound_further_origins_are_counted_together() -> None:
    records = (record("sent", ssh_client=f"10.0.{n // 256}.{n % 256}") for n in range(MAX_KEYS + 5))
    summary = summarise(records, [], None, NOW)
    assert len(summary.by_origin) == MAX_KEYS + 1
    assert summary.by_origin[OTHERS] == {"sent": 5}
    assert summary.totals == {"sent": MAX_KEYS + 5}
