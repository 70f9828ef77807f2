"""Which ledger the settings name, opened: the SQLite file or the Redis server.

The Redis ledger's module is imported at need only: redis-py loads nowhere else, and never at
start-up. The SQLite one is imported with this module, so that importing it ahead of the first
send (as the flow does) takes that cost off the send.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from otp_tui.core.limits import LimitsLedger
from otp_tui.state.sqlite_ledger import SqliteLedger

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings

LEDGER_FILENAME = "ledger.sqlite3"


class OpenLedger(LimitsLedger, Protocol):
    """A ledger `open_ledger` hands out: the contract, plus closing and a `with` block."""

    def close(self) -> None: ...

    def __enter__(self) -> OpenLedger: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


def default_ledger_path() -> Path:
    # Imported here so that processes which only touch the ledger do not load pydantic.
    from otp_tui.config.paths import user_state_dir

    return user_state_dir() / LEDGER_FILENAME


def open_ledger(settings: Settings, clock: Callable[[], float] = time.time) -> OpenLedger:
    """The ledger named by ``[state] ledger``: Redis for a Redis URL (one server or a Sentinel
    group), else the SQLite file at that path, or the default one in the user state dir.

    `clock` is the SQLite ledger's; a Redis ledger keeps the server's time, whatever the host's.
    """
    state = settings.state
    if state.ledger_url is not None:
        from otp_tui.state.redis_ledger import RedisLedger

        return RedisLedger.from_url(
            state.ledger_url,
            password_file=state.ledger_password_file,
            sentinel_password_file=state.ledger_sentinel_password_file,
            ca_file=state.ledger_ca_file,
            timeout=state.ledger_timeout,
            replicas=state.ledger_replicas,
        )
    return SqliteLedger(state.ledger_path or default_ledger_path(), clock=clock)
