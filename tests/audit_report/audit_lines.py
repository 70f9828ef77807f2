"""Audit lines as `otp_tui.state.audit` writes them, for the report's tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def line(event: str, user: str = "alice", **fields: object) -> bytes:
    record = {"ts": "2026-12-04T10:00:00.000+00:00", "event": event, "user": user, **fields}
    return (json.dumps(record) + "\n").encode()
