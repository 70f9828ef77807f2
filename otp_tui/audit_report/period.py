"""`--since` and `--until`: a moment as an operator types it.

An ISO-8601 date or date and time (`2026-12-01`, `2026-12-01T08:30`, `2026-12-01 08:30+01:00`;
without a zone it is local time, as journalctl reads it), or a span back from now: a number and
`m`, `h`, `d` or `w` (`30m`, `24h`, `7d`). Anything else is refused with one line.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from otp_tui.language import _

_SPAN = re.compile(r"(\d{1,6})([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class PeriodError(ValueError):
    """A moment that cannot be read; the message says which and how to write one."""


def parse_moment(text: str, now: datetime) -> datetime:
    """The moment `text` names, as an aware datetime; `now` is aware."""
    span = _SPAN.fullmatch(text.strip())
    if span is not None:
        return now - timedelta(**{_UNITS[span.group(2)]: int(span.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        # TRANSLATORS: `otp-tui report --since/--until`; {value} is what was typed (quoted).
        message = _(
            "{value} is not a moment: write a date (2026-12-01), a date and time "
            "(2026-12-01T08:30) or a span back from now (30m, 24h, 7d, 2w)"
        )
        raise PeriodError(message.format(value=repr(text))) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time, as the operator's clock shows it
    return moment.astimezone(UTC)
