"""A ledger opened on first use, so that opening SQLite (or connecting to Redis) stays off the
start-up path."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings
    from otp_tui.core.limits import GuessLimits, GuessVerdict, LedgerEntry, SendBudget
    from otp_tui.state.ledger import OpenLedger


class LazyLedger:
    """A `LimitsLedger` that opens the configured ledger the first time it is asked."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._ledger: OpenLedger | None = None

    def _open(self) -> OpenLedger:
        if self._ledger is None:
            from otp_tui.state.ledger import open_ledger

            self._ledger = open_ledger(self._settings)
        return self._ledger

    def status(self, address: str) -> LedgerEntry:
        return self._open().status(address)

    def reserve_send(self, address: str, budget: SendBudget) -> float:
        return self._open().reserve_send(address, budget)

    def admit_guess(self, address: str, limits: GuessLimits, token: str) -> GuessVerdict:
        return self._open().admit_guess(address, limits, token)

    def record_success(self, address: str, token: str | None = None) -> None:
        self._open().record_success(address, token)

    def unlock(self, address: str) -> None:
        self._open().unlock(address)

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
