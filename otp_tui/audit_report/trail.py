"""The audit trail's files and their lines.

logrotate leaves the trail beside its older selves: `audit.jsonl.1`, `audit.jsonl.2.gz` (the
numbered scheme, `compress` and `delaycompress`) or `audit.jsonl-20261201.gz` (`dateext`).
All of them are read, gzip ones decompressed as they stream; each line is one JSON object
(`otp_tui.state.audit`). A line that is not one (cut short by a full disk, or not otp-tui's)
is counted as malformed and skipped, never fatal, and a line longer than any otp-tui writes is
skipped unread, so that no file can make the report hold more than one line at a time.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

# otp-tui's lines are a few hundred bytes; anything past this is not one of them.
MAX_LINE = 64 * 1024

_ROTATED = re.compile(r"(?:\.(\d+)|-(\d{8,14}))(?:\.gz)?")


def trail_files(path: Path) -> list[Path]:
    """The trail and its rotated files, oldest first (the live file last)."""
    numbered: list[tuple[int, Path]] = []
    dated: list[tuple[str, Path]] = []
    if path.parent.is_dir():
        for candidate in path.parent.iterdir():
            if not candidate.name.startswith(path.name):
                continue
            found = _ROTATED.fullmatch(candidate.name[len(path.name) :])
            if found is None:
                continue
            number, date = found.groups()
            if number is not None:
                numbered.append((int(number), candidate))
            else:
                dated.append((date, candidate))
    # Dated files: the earliest date is the oldest. Numbered: the highest number is the oldest.
    ordered = [item for _, item in sorted(dated)]
    ordered += [item for _, item in sorted(numbered, reverse=True)]
    if path.exists():
        ordered.append(path)
    return ordered


@dataclass
class TrailCount:
    """How many lines were read, and how many were not otp-tui's audit lines."""

    lines: int = 0
    malformed: int = 0
    current: Path | None = None  # the file being read, to name when it cannot be


def _open(path: Path) -> BinaryIO:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """Each line, or None for one too long to be otp-tui's (skipped unread)."""
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            return
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            while True:  # drain the rest of the overlong line
                rest = stream.readline(MAX_LINE)
                if not rest or rest.endswith(b"\n"):
                    break
            yield None
            continue
        yield line


def _moment(record: dict[str, Any]) -> datetime | None:
    stamp = record.get("ts")
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def read_trail(
    files: list[Path], since: datetime | None, until: datetime, count: TrailCount
) -> Iterator[dict[str, Any]]:
    """Every well-formed line of `files` from `since` (None: the start) up to `until`, its
    `ts` turned into an aware datetime; `count` is kept up to date as they stream.

    OSError (a file that cannot be read) is the caller's to word.
    """
    for path in files:
        count.current = path
        with _open(path) as stream:
            for raw in _lines(stream):
                if raw is not None and not raw.strip():
                    continue
                count.lines += 1
                record = _parse(raw)
                moment = _moment(record) if record is not None else None
                if record is None or moment is None:
                    count.malformed += 1
                    continue
                if (since is not None and moment < since) or moment > until:
                    continue
                record["ts"] = moment
                yield record


def _parse(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        record = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("event"), str):
        return None
    return record
