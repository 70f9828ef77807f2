"""`otp-tui report`'s run: a file it cannot read is one line and status 2."""

from __future__ import annotations

import gzip
from pathlib import Path

from audit_lines import NOW, line


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
