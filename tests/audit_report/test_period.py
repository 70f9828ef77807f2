"""`--since` and `--until` as an operator types them; anything else refused with one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from audit_lines import NOW

from otp_tui.audit_report.period import PeriodError, parse_moment


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("30m", NOW - timedelta(minutes=30)),
        ("24h", NOW - timedelta(hours=24)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
        ("2026-12-01T08:30+01:00", datetime(2026, 12, 1, 7, 30, tzinfo=UTC)),
        ("2026-12-01 08:30Z", datetime(2026, 12, 1, 8, 30, tzinfo=UTC)),
    ],
)
def test_spans_and_moments_with_a_zone(text: str, moment: datetime) -> None:
    assert parse_moment(text, NOW) == moment


def test_a_moment_without_a_zone_is_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        assert parse_moment("2026-12-01", NOW) == datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("text", ["yesterday", "7 days", "-1d", "1y", "", "2026-13-01"])
def test_anything_else_is_refused_with_how_to_write_one(text: str) -> None:
    with pytest.raises(PeriodError, match="is not a moment: write a date"):
        parse_moment(text, NOW)
