"""What each form of the report shows of a hostile value read from the trail."""

from __future__ import annotations

import json
from pathlib import Path

from audit_lines import NOW, line

from otp_tui.audit_report.render import as_json, as_openmetrics, as_table
from otp_tui.audit_report.summary import summarise
from otp_tui.audit_report.trail import TrailCount, read_trail


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
