"""What `otp-tui status ADDRESS` prints and what `otp-tui unlock ADDRESS` does and says.

The CLI owns arguments, output and exit codes; these functions only turn ledger entries into
sentences. They take the ledger as a `LimitsLedger`, so they work on the in-memory one in tests,
and they normalise the address exactly as the core does: an operator typing ``Alice@EXAMPLE.com``
must reach the entry the app counted as ``Alice@example.com``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone, tzinfo
from typing import Any

from email_validator import EmailNotValidError

from otp_tui.core.address import RefusedAddress, limits_key
from otp_tui.core.address import normalise_address as core_normalise
from otp_tui.core.limits import FOREVER, LedgerEntry, LimitsLedger, lock_end_as_shown


class AddressArgumentError(ValueError):
    """The command line's address is not an email address; the message says why."""


def ledger_key(raw: str) -> str:
    """The key the core counts this address under in the ledger."""
    try:
        return limits_key(core_normalise(raw))
    except (EmailNotValidError, RefusedAddress) as error:
        raise AddressArgumentError(f"{raw!r} is not an email address: {error}") from None


def _end(entry: LedgerEntry, now: float, *, as_shown: bool = True) -> datetime | None:
    end = now + entry.locked_for
    try:
        return datetime.fromtimestamp(lock_end_as_shown(end) if as_shown else end, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):  # a lock too long for the calendar
        return None


def _until(entry: LedgerEntry, now: float, tz: tzinfo | None) -> str:
    end = _end(entry, now)
    if end is None:
        return f"{entry.locked_for:.0f} seconds from now"
    return end.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _lock_line(entry: LedgerEntry, now: float, tz: tzinfo | None) -> str:
    if entry.locked_for == FOREVER:
        return "locked until an operator unlocks it"
    if entry.locked_for > 0:
        return f"locked until {_until(entry, now, tz)}"
    return "not locked"


def status_lines(
    ledger: LimitsLedger,
    address: str,
    clock: Callable[[], float] = time.time,
    tz: tzinfo | None = None,
) -> list[str]:
    """`otp-tui status`: what the ledger holds for the address. `tz` None is local time.

    `clock` must be the ledger's own clock: it turns "seconds left" into a time of day.
    AddressArgumentError when the address does not parse; LedgerError from the ledger as is.
    """
    normalised = ledger_key(address)
    entry = ledger.status(normalised)
    return [
        f"address: {normalised}",
        f"sends in the last hour: {entry.sends_last_hour}",
        f"wrong codes since the last lock: {entry.wrong_codes}",
        f"consecutive failures: {entry.consecutive_failures}",
        _lock_line(entry, clock(), tz),
    ]


def status_record(
    ledger: LimitsLedger, address: str, clock: Callable[[], float] = time.time
) -> dict[str, Any]:
    """The same facts for `--json`: locked_until is ISO-8601 UTC, "forever", or null."""
    normalised = ledger_key(address)
    entry = ledger.status(normalised)
    locked_until: str | None = None
    if entry.locked_for == FOREVER:
        locked_until = "forever"
    elif entry.locked_for > 0:
        end = _end(entry, clock(), as_shown=False)  # to the second, for a script
        # Past the calendar's end is as good as forever for a reader of the JSON.
        locked_until = end.isoformat(timespec="seconds") if end else "forever"
    return {
        "address": normalised,
        "sends_last_hour": entry.sends_last_hour,
        "wrong_codes": entry.wrong_codes,
        "consecutive_failures": entry.consecutive_failures,
        "locked_until": locked_until,
    }


def unlock(
    ledger: LimitsLedger,
    address: str,
    clock: Callable[[], float] = time.time,
    tz: tzinfo | None = None,
) -> str:
    """`otp-tui unlock`: lift any lock, clear the failure counts, and say what changed.

    The send budget is left alone: unlocking is about guesses, not about mail volume.
    """
    normalised = ledger_key(address)
    before = ledger.status(normalised)
    ledger.unlock(normalised)
    failures = before.consecutive_failures
    cleared = f"cleared {failures} consecutive failure{'' if failures == 1 else 's'}"
    if before.locked_for == FOREVER:
        return f"Unlocked {normalised}: lifted the lock that waited for an operator and {cleared}."
    if before.locked_for > 0:
        until = _until(before, clock(), tz)
        return f"Unlocked {normalised}: lifted the lock until {until} and {cleared}."
    if failures or before.wrong_codes:
        return f"{normalised} was not locked; {cleared}."
    return f"{normalised} was not locked and had no failures; nothing changed."
