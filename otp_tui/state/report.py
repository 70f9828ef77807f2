"""What `otp-tui status ADDRESS` prints and what `otp-tui unlock ADDRESS` does and says.

The CLI owns arguments, output and exit codes; these functions only turn ledger entries into
sentences. They take the ledger as a `LimitsLedger`, so they work on the in-memory one in tests,
and they normalise the address exactly as the core does: an operator typing ``Alice@EXAMPLE.com``
must reach the entry the app counted as ``Alice@example.com``.

The lines are worded in the language in use (English by default, and then exactly as before);
`status_record`, for `--json`, stays in the code's own words whatever the language.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

from email_validator import EmailNotValidError

from otp_tui.core.address import RefusedAddress, limits_key
from otp_tui.core.address import normalise_address as core_normalise
from otp_tui.core.limits import FOREVER, LedgerEntry, LimitsLedger, lock_end_as_shown
from otp_tui.language import _, ngettext, pgettext


class AddressArgumentError(ValueError):
    """The command line's address is not an email address; the message says why."""


def ledger_key(raw: str) -> str:
    """The key the core counts this address under in the ledger."""
    try:
        return limits_key(core_normalise(raw))
    except (EmailNotValidError, RefusedAddress) as error:
        # TRANSLATORS: {address} is what was typed, quoted as Python quotes it; {reason} is
        # the address checker's own words (in English).
        message = _("{address} is not an email address: {reason}")
        raise AddressArgumentError(message.format(address=repr(raw), reason=error)) from None


def _end(entry: LedgerEntry, now: float, *, as_shown: bool = True) -> datetime | None:
    end = now + entry.locked_for
    try:
        return datetime.fromtimestamp(lock_end_as_shown(end) if as_shown else end, tz=UTC)
    except (OverflowError, OSError, ValueError):  # a lock too long for the calendar
        return None


def _until(entry: LedgerEntry, now: float, tz: tzinfo | None) -> str:
    end = _end(entry, now)
    if end is None:
        seconds = f"{entry.locked_for:.0f}"
        # TRANSLATORS: the end of a lock too far away for the calendar, in `otp-tui status`
        # ("locked until {when}") and `otp-tui unlock`.
        return ngettext("{count} second from now", "{count} seconds from now", int(seconds)).format(
            count=seconds
        )
    # TRANSLATORS: when a lock ends, in `otp-tui status` and `otp-tui unlock`: a date and a
    # clock time as strftime writes them, then the time zone (%Z, "UTC" or "CET"). Use
    # numeric fields only (%d, %m, %Y, %H, %M): names of months and days would come out in
    # English.
    return end.astimezone(tz).strftime(pgettext("strftime", "%Y-%m-%d %H:%M %Z"))


def _lock_line(entry: LedgerEntry, now: float, tz: tzinfo | None) -> str:
    if entry.locked_for == FOREVER:
        return _("locked until an operator unlocks it")
    if entry.locked_for > 0:
        # TRANSLATORS: the last line of `otp-tui status`; {when} is a date and time.
        return _("locked until {when}").format(when=_until(entry, now, tz))
    return _("not locked")


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
    sends, wrong, failures = entry.sends_last_hour, entry.wrong_codes, entry.consecutive_failures
    return [
        # TRANSLATORS: `otp-tui status`: a label and the address the ledger knows.
        _("address: {address}").format(address=normalised),
        # TRANSLATORS: `otp-tui status`: a label and a number (the codes mailed to the address
        # in the last hour); a plural form in case the language's label needs one.
        ngettext(
            "sends in the last hour: {count}", "sends in the last hour: {count}", sends
        ).format(count=sends),
        # TRANSLATORS: `otp-tui status`: a label and a number.
        ngettext(
            "wrong codes since the last lock: {count}",
            "wrong codes since the last lock: {count}",
            wrong,
        ).format(count=wrong),
        # TRANSLATORS: `otp-tui status`: a label and a number (failed verifications in a row).
        ngettext("consecutive failures: {count}", "consecutive failures: {count}", failures).format(
            count=failures
        ),
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
    if before.locked_for == FOREVER:
        return ngettext(
            "Unlocked {address}: lifted the lock that waited for an operator and cleared"
            " {count} consecutive failure.",
            "Unlocked {address}: lifted the lock that waited for an operator and cleared"
            " {count} consecutive failures.",
            failures,
        ).format(address=normalised, count=failures)
    if before.locked_for > 0:
        # TRANSLATORS: `otp-tui unlock`; {when} is a date and time, as in `otp-tui status`.
        return ngettext(
            "Unlocked {address}: lifted the lock until {when} and cleared"
            " {count} consecutive failure.",
            "Unlocked {address}: lifted the lock until {when} and cleared"
            " {count} consecutive failures.",
            failures,
        ).format(address=normalised, when=_until(before, clock(), tz), count=failures)
    if failures or before.wrong_codes:
        return ngettext(
            "{address} was not locked; cleared {count} consecutive failure.",
            "{address} was not locked; cleared {count} consecutive failures.",
            failures,
        ).format(address=normalised, count=failures)
    return _("{address} was not locked and had no failures; nothing changed.").format(
        address=normalised
    )
