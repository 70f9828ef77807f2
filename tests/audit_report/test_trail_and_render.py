"""The trail's files in age order, hostile lines, and what each form shows of a hostile value."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

from otp_tui.audit_report.render import as_json, as_openmetrics, as_table
from otp_tui.audit_report.summary import summarise
from otp_tui.audit_report.trail import MAX_LINE, TrailCount, read_trail, trail_files

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def line(event: str, user: str = "alice", **fields: object) -> bytes:
    record = {"ts": "2026-12-04T10:00:00.000+00:00", "event": event, "user": user, **fields}
    return (json.dumps(record) + "\n").encode()


def test_rotated_files_come_oldest_first_and_strangers_are_left_alone(tmp_path: Path) -> None:
    live = tmp_path / "audit.jsonl"
    for name in (
        "audit.jsonl",
        "audit.jsonl.1",
        "audit.jsonl.2.gz",
        "audit.jsonl.10.gz",
        "audit.jsonl-20261101.gz",
        "audit.jsonl-20261201",
        "audit.jsonl.bak",
        "audit.jsonl.1.gz.tmp",
        "other.jsonl.1",
    ):
        (tmp_path / name).write_bytes(b"")
    assert [path.name for path in trail_files(live)] == [
        "audit.jsonl-20261101.gz",
        "audit.jsonl-20261201",
        "audit.jsonl.10.gz",
        "audit.jsonl.2.gz",
        "audit.jsonl.1",
        "audit.jsonl",
    ]


def test_overlong_and_broken_lines_are_counted_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl.1.gz"
    with gzip.open(path, "wb") as file:
        file.write(line("verified"))
        file.write(b"x" * (MAX_LINE * 3) + b"\n")  # longer than any line otp-tui writes
        file.write(b"[1, 2]\n{not json\n\xff\xfe\n")
        file.write(b'{"ts": "yesterday", "event": "verified"}\n')
        file.write(line("locked"))
    count = TrailCount()
    records = list(read_trail([path], None, NOW, count))
    assert [record["event"] for record in records] == ["verified", "locked"]
    assert (count.lines, count.malformed) == (7, 5)


def test_a_hostile_user_name_is_harmless_in_every_form(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    hostile = 'eve\x1b[2J"}\nfake_metric 1'
    path.write_bytes(line("verified", user=hostile) + line("verified", user="bob"))
    count = TrailCount()
    summary = summarise(read_trail([path], None, NOW, count), [path], None, NOW)
    table = as_table(summary)
    assert "\x1b" not in table
    metrics = as_openmetrics(summary)
    assert "\nfake_metric 1" not in metrics
    assert "\x1b" not in metrics
    assert '\\"}\\nfake_metric 1"' in metrics
    assert json.loads(as_json(summary))["by_user"][hostile] == {"verified": 1}


def test_a_damaged_gzip_file_is_one_line_naming_it_and_status_2(tmp_path: Path) -> None:
    import io

    from otp_tui.audit_report.command import run_report
    from otp_tui.config.schema import Settings

    (tmp_path / "audit.jsonl").write_bytes(line("verified"))
    damaged = tmp_path / "audit.jsonl.1.gz"
    damaged.write_bytes(gzip.compress(line("locked") * 50)[:40])  # cut short mid-stream
    out, err = io.StringIO(), io.StringIO()
    status = run_report(
        Settings(), out, err, trail=str(tmp_path / "audit.jsonl"), since=None, until=None,
        form="table", now=NOW,
    )  # fmt: skip
    assert status == 2
    assert out.getvalue() == ""
    assert err.getvalue().startswith(f"otp-tui report: the audit trail cannot be read: {damaged}:")
    assert len(err.getvalue().splitlines()) == 1
