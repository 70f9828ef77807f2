"""A ledger opened on first use, so that opening SQLite stays off the start-up path."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings
    from otp_tui.core.limits import LedgerEntry
    from otp_tui.state.ledger import SqliteLedger


class LazyLedger:
    """A `LimitsLedger` that opens the configured SQLite ledger the first time it is asked."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._ledger: SqliteLedger | None = None

    def _open(self) -> SqliteLedger:
        if self._ledger is None:
            from otp_tui.state.ledger import open_ledger

            self._ledger = open_ledger(self._settings)
        return self._ledger

    def status(self, address: str) -> LedgerEntry:
        return self._open().status(address)

    def reserve_send(self, address: str, per_hour: int) -> float:
        return self._open().reserve_send(address, per_hour)

    def record_wrong_code(self, address: str) -> LedgerEntry:
        return self._open().record_wrong_code(address)

    def lock(self, address: str, seconds: float) -> None:
        self._open().lock(address, seconds)

    def record_success(self, address: str) -> None:
        self._open().record_success(address)

    def unlock(self, address: str) -> None:
        self._open().unlock(address)

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
