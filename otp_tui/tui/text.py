"""Small wording helpers shared by the screens: durations, clock times, masked addresses."""

from __future__ import annotations

import math
from datetime import datetime


def clock_duration(seconds: float) -> str:
    """`9:41` for a countdown; rounded up, so it never reads 0:00 while time is left."""
    whole = max(0, math.ceil(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def rough_duration(seconds: float) -> str:
    """`15 minutes`, `2 hours`, `40 seconds`: for waits a person plans around."""
    whole = max(0, math.ceil(seconds))
    if whole < 90:
        return f"{whole} second{'s' if whole != 1 else ''}"
    minutes = math.ceil(whole / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    hours = math.ceil(minutes / 60)
    return f"{hours} hours"


def time_of_day(when: float, now: float) -> str:
    """Local `14:05` for wall-clock second `when`, with the date too unless it is `now`'s day."""
    moment = datetime.fromtimestamp(when)
    same_day = moment.date() == datetime.fromtimestamp(now).date()
    return moment.strftime("%H:%M") if same_day else moment.strftime("%Y-%m-%d %H:%M")


def mask_address(address: str) -> str:
    """`a***@example.com`: enough to recognise one's own address, not to harvest it."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def until(seconds: float, now: float) -> str:
    """`until 14:05 (15 minutes)`, or the operator's way out for a lock with no end."""
    if math.isinf(seconds):
        return "until an operator unlocks it"
    return f"until {time_of_day(now + seconds, now)} ({rough_duration(seconds)})"
