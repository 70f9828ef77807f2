"""The two ways storage fails, in a module of their own.

The app needs to recognise these errors from its first frame, but must not load SQLite to do
so: the ledger is opened, and its module imported, only when a send first needs it.
"""

from __future__ import annotations

from pathlib import Path


class StorageError(Exception):
    """Storage that cannot be used; the message is one sentence naming the file."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class LedgerError(StorageError):
    """The ledger cannot be opened, read or written."""


class AuditError(StorageError):
    """The audit trail cannot be written."""
