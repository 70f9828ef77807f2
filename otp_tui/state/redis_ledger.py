"""The limits ledger in Redis: one truth for every host of a fleet.

`RedisLedger` implements `otp_tui.core.limits.LimitsLedger` with the same meaning as
`MemoryLedger` and `SqliteLedger` (the contract tests run all three, and a differential test
holds its scripts to the core's rules). Each operation is one Lua script run on the server
(`redis_scripts`), over a connection kept open from one operation to the next
(`redis_connection`).

Layout. Every key one address's operation touches shares the hash tag ``{<address>}``; the
budgets shared across addresses (the whole ledger, each requesting identity) are keys of their
own, ``otp-tui:{budget:<name>}:sends``. On a single server (or Valkey) `reserve_send` checks and
records the address and its budgets in one script; a Redis Cluster would refuse that script
(its keys lie in several slots), so a Cluster is not supported.

    otp-tui:{<address>}:state   hash: w (wrong codes), c (consecutive failures),
                                u (locked until, seconds, or "inf"), t (the lock's guess token)
    otp-tui:{<address>}:sends   sorted set: one member per send, scored by its time

Time is the server's (`TIME` inside each script), never the host's, so a lock ends at the same
moment on every host and a host with a wrong clock cannot stretch or shrink a window. Tests may
hand in a clock instead; then the scripts take "now" from it.

Keys expire when they no longer matter: a send set an hour and a minute after its newest send; a
state hash whose counts are zero a minute after its lock ends (at once if it holds no lock); a
lock that only an operator lifts, or counts that still count, never.

Every operation has one deadline, `timeout` seconds for the whole of it (`redis_deadline`):
connect, TLS, AUTH, the script and one retry of it with its source, however slowly the bytes
come, with no automatic retries, which could apply a script twice. Every failure (unreachable,
a refused password or certificate, the deadline, an error from the server, an answer Redis would
never give) is one `LedgerError` naming the server's host and port, never the password
(`redis_errors`); the ledger fails closed.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from otp_tui.core.limits import (
    FOREVER,
    GuessAdmitted,
    GuessLimits,
    GuessRefused,
    GuessVerdict,
    LedgerEntry,
    SendBudget,
)
from otp_tui.core.untrusted import visible
from otp_tui.language import _
from otp_tui.state.errors import LedgerError
from otp_tui.state.redis_client import client_from_url, where_of
from otp_tui.state.redis_connection import KeptConnections
from otp_tui.state.redis_deadline import with_deadline, within
from otp_tui.state.redis_errors import SHAPE_ERRORS, NotRedisError, failure
from otp_tui.state.redis_scripts import Script, script

if TYPE_CHECKING:
    import redis

PREFIX = "otp-tui:"
DEFAULT_TIMEOUT = 3.0


T = TypeVar("T")


def _as_is(answer: Any) -> Any:
    return answer


def _num(value: float) -> str:
    return "inf" if value == FOREVER else repr(float(value))


def _float(value: bytes | str) -> float:
    text = value.decode() if isinstance(value, bytes) else value
    return math.inf if text == "inf" else float(text)


def _verdict(answer: Any) -> GuessVerdict:
    kind, left, lock = answer
    if kind == b"refused":
        return GuessRefused(_float(lock))
    if kind != b"admitted":
        raise ValueError("not a verdict")
    return GuessAdmitted(int(left), _float(lock) if lock else None)


def _time_and_version(answer: Any) -> tuple[float, str]:
    server_time, version = answer
    return float(server_time), visible(version.decode())


def address_keys(address: str) -> tuple[str, str]:
    """The keys of one address: its guess counts (a hash) and its sends (a sorted set)."""
    tag = f"{PREFIX}{{{address}}}"
    return f"{tag}:state", f"{tag}:sends"


def budget_key(name: str) -> str:
    """The key of a budget shared across addresses (a sorted set of sends)."""
    return f"{PREFIX}{{budget:{name}}}:sends"


class RedisLedger:
    """A `LimitsLedger` in Redis, shared by every host that names the same server."""

    def __init__(
        self,
        client: redis.Redis,
        where: str,
        clock: Callable[[], float] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        tls: bool = False,
    ) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import NoScriptError

        self._client = client
        self.where = where  # host:port, for messages
        self.timeout = timeout
        self.tls = tls
        # None in use: the server's TIME. Tests hand in a clock to move time by hand.
        self._clock = clock
        self._no_script = NoScriptError
        pool = client.connection_pool
        pool.connection_class = with_deadline(pool.connection_class)
        self._connections = KeptConnections(pool.make_connection, (RedisConnectionError,))

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        password_file: Path | None = None,
        ca_file: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] | None = None,
    ) -> RedisLedger:
        """Connects lazily: the first operation (or `probe`) opens the connection."""
        where = where_of(url)
        if where is None:
            # Nothing in it can be named: its host or port does not parse, and the rest may
            # hold the password.
            raise LedgerError(
                _("The Redis ledger URL in state.ledger cannot be read."), Path("state.ledger")
            )
        client = client_from_url(
            url, where, password_file=password_file, ca_file=ca_file, timeout=timeout
        )
        return cls(client, where, clock, timeout=timeout, tls=url.startswith("rediss://"))

    def run(
        self,
        script: Script,
        keys: Sequence[str],
        args: Sequence[str] = (),
        decode: Callable[[Any], T] = _as_is,
    ) -> T:
        """Run `script` on `keys` with "now" and `args` as its ARGV, one atomic step, and
        `decode` its answer; all of it within one deadline, `timeout` seconds."""
        now = "" if self._clock is None else repr(float(self._clock()))
        try:
            with within(self.timeout), self._connections.lend() as connection:
                answer = script(connection, keys, [now, *args], self._no_script)
                try:
                    return decode(answer)
                except SHAPE_ERRORS as error:
                    raise NotRedisError from error
        except Exception as error:
            said = failure(error, self.where, self.timeout)
            if said is None:
                raise
            raise said from None

    @staticmethod
    def _entry(answer: Any) -> LedgerEntry:
        sends, wrong, consecutive, locked_for = answer
        return LedgerEntry(int(sends), int(wrong), int(consecutive), _float(locked_for))

    # -- LimitsLedger --------------------------------------------------------------------------

    def status(self, address: str) -> LedgerEntry:
        return self.run(script("status"), address_keys(address), decode=self._entry)

    def reserve_send(self, address: str, budget: SendBudget) -> float:
        windows = budget.windows()
        keys = [address_keys(address)[1], *(budget_key(name) for name, _ in windows)]
        limits = [str(budget.per_address), *(str(per_hour) for _, per_hour in windows)]
        member = secrets.token_hex(8)
        return self.run(script("reserve_send"), keys, [member, *limits], decode=_float)

    def admit_guess(self, address: str, limits: GuessLimits, token: str) -> GuessVerdict:
        return self.run(
            script("admit_guess"),
            address_keys(address)[:1],
            [
                str(limits.max_attempts),
                _num(limits.lockout),
                str(limits.max_consecutive_failures),
                token,
            ],
            decode=_verdict,
        )

    def record_success(self, address: str, token: str | None = None) -> None:
        self.run(script("record_success"), address_keys(address)[:1], [token or ""])

    def unlock(self, address: str) -> None:
        self.run(script("unlock"), address_keys(address)[:1])

    # -- the operator's check ------------------------------------------------------------------

    def probe(self) -> str:
        """Connect, authenticate and run a harmless script; a line saying what answered."""
        server_time, version = self.run(script("probe"), [], decode=_time_and_version)
        values = {"version": version, "where": self.where, "time": f"{server_time:.0f}"}
        # The server's time comes last, as a number: a test reads it from there.
        if self.tls:
            # TRANSLATORS: `otp-tui check`: {time} is the server's clock in Unix seconds; keep
            # it at the end of the line.
            return _("Redis {version} at {where} over TLS: scripts run, server time {time}").format(
                **values
            )
        # TRANSLATORS: `otp-tui check`: {time} is the server's clock in Unix seconds; keep it
        # at the end of the line.
        return _("Redis {version} at {where}: scripts run, server time {time}").format(**values)

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        # A call stuck on a silent server ends now, with a LedgerError.
        self._connections.close()
        self._client.close()

    def __enter__(self) -> RedisLedger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
