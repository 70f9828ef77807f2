"""The two ways storage fails, in a module of their own.

The app needs to recognise these errors from its first frame, but must not load SQLite to do
so: the ledger is opened, and its module imported, only when a send first needs it.
"""

from __future__ import annotations

from pathlib import Path


def plural_count(seconds: float) -> int:
    """The number `ngettext` chooses a plural form by, for a duration shown as `{seconds:g}`.

    A whole number is itself; a fraction counts as many (English and German both say
    "1.5 seconds", and "0.5 seconds").
    """
    return int(seconds) if float(seconds).is_integer() else 2


class StorageError(Exception):
    """Storage that cannot be used; the message is one sentence naming the file.

    The sentence is worded (translated) where the error is raised, in the language in use: it
    is shown to the person as the run's one-line failure and goes to no log or audit field.
    """

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class LedgerError(StorageError):
    """The ledger cannot be opened, read or written."""


class AuditError(StorageError):
    """The audit trail cannot be written."""
