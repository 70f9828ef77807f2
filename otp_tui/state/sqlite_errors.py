"""What an SQLite ledger's failure is called: one sentence naming the file, in the language in
use. The system's or SQLite's own words, when quoted, stay as they come."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from otp_tui.language import _, ngettext
from otp_tui.state.errors import plural_count


def errorname(error: sqlite3.Error) -> str:
    """SQLite's error name (SQLITE_BUSY, ...) for `error`, or "" when it cannot be told."""
    return getattr(error, "sqlite_errorname", "") or _errorname_from_text(str(error))


def _errorname_from_text(text: str) -> str:
    # Python 3.10 has no sqlite_errorname; SQLite's English messages are stable enough.
    lowered = text.lower()
    for fragment, name in (
        ("not a database", "SQLITE_NOTADB"),
        ("malformed", "SQLITE_CORRUPT"),
        ("readonly", "SQLITE_READONLY"),
        ("disk is full", "SQLITE_FULL"),
        ("is locked", "SQLITE_BUSY"),
        ("unable to open", "SQLITE_CANTOPEN"),
    ):
        if fragment in lowered:
            return name
    return ""


def describe(error: sqlite3.Error | OSError, where: Path, busy_timeout: float) -> str:
    """The one line a run fails with when the ledger file `where` fails with `error`."""
    if isinstance(error, OSError):
        if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return _("The ledger {path} cannot be opened for writing: permission denied.").format(
                path=where
            )
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return _("The disk holding the ledger {path} is full.").format(path=where)
        reason = error.strerror or str(error)
        return _("The ledger {path} cannot be opened: {reason}.").format(path=where, reason=reason)
    text = str(error)
    name = errorname(error)
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return _(
            "The ledger {path} is corrupt or not an SQLite database;"
            " it was left untouched, move it aside to start afresh."
        ).format(path=where)
    if name.startswith("SQLITE_READONLY"):
        return _("The ledger {path} is read-only.").format(path=where)
    if name.startswith("SQLITE_FULL"):
        return _("The disk holding the ledger {path} is full.").format(path=where)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return ngettext(
            "The ledger {path} stayed locked by another process for more than {count} second.",
            "The ledger {path} stayed locked by another process for more than {count} seconds.",
            plural_count(busy_timeout),
        ).format(path=where, count=f"{busy_timeout:g}")
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM")):
        return _(
            "The ledger {path} cannot be opened"
            " (its directory must be writable for the journal files)."
        ).format(path=where)
    return _("The ledger {path} cannot be used: {reason}.").format(path=where, reason=text)
