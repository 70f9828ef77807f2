"""The trail's files in age order, and hostile lines counted and skipped."""

from __future__ import annotations

import gzip
from pathlib import Path

from audit_lines import NOW, line

from otp_tui.audit_report.trail import MAX_LINE, TrailCount, read_trail, trail_files


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
