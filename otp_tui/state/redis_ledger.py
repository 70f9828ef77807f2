"""The limits ledger in Redis: one truth for every host of a fleet.

`RedisLedger` implements `otp_tui.core.limits.LimitsLedger` with the same meaning as
`MemoryLedger` and `SqliteLedger` (the contract tests run all three, and a differential test
holds its scripts to the core's rules), on one server, on the primary a Sentinel group names,
or on a Cluster (`redis_client`). Each operation is one Lua script run on the server
(`redis_scripts`), over a connection kept open from one operation to the next
(`redis_connection`; a Cluster's are its client's).

Layout. Every key one address's operation touches shares the hash tag ``{<address>}`` (one slot
of a Cluster); the budgets shared across addresses (the whole ledger, each requesting identity)
are keys of their own, ``otp-tui:{budget:<name>}:sends``. On one server `reserve_send` checks
and records the address and its budgets in one script; on a Cluster, where they lie in several
slots, it reserves them one by one (`_reserve_across_slots` says how that never overspends).

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
connect, TLS, AUTH, finding the primary, the script and one retry of it with its source, WAIT
for `replicas`, however slowly the bytes come; nothing that may have run is ever sent again.
Every failure (unreachable, a refused password or certificate, the deadline, an error from the
server, an answer Redis would never give) is one `LedgerError` naming the server's host and
port, never the password (`redis_errors`); the ledger fails closed.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from otp_tui.config.ledger_location import Topology
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
from otp_tui.state.redis_client import Clients, locate, open_clients
from otp_tui.state.redis_connection import KeptConnections
from otp_tui.state.redis_deadline import time_left, within
from otp_tui.state.redis_errors import SHAPE_ERRORS, NotRedisError, TooFewReplicasError, failure
from otp_tui.state.redis_scripts import ReplyErrors, Script, Then, pack, script

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


# How long WAIT may wait: what is left of the deadline, less a fifth of it (a quarter second at
# least) for its answer to come back in time on a busy machine.
_WAIT_MARGIN = 0.25
# Between tries while a failover is under way: short, since the deadline bounds them all.
_RETRY_PAUSE = 0.05


class _WaitForReplicas:
    """WAIT for `needed` replicas, sent with each write that counts; fewer acknowledgements
    within the deadline fail the operation closed."""

    def __init__(self, needed: int) -> None:
        self.needed = needed

    def command(self) -> tuple[str, int, int]:
        left = time_left() or 0.0
        wait = max(1, int((left - max(_WAIT_MARGIN, left / 5)) * 1000))  # 0 would wait for ever
        return ("WAIT", self.needed, wait)

    def check(self, answer: Any) -> None:
        if int(answer) < self.needed:
            raise TooFewReplicasError(int(answer))


def _room_to_retry() -> bool:
    """After a pause, whether the deadline leaves time for another try (else the last error
    stands, rather than a timeout that hides it)."""
    try:
        left = time_left() or 0.0
    except TimeoutError:
        return False
    if left <= 2 * _RETRY_PAUSE:
        return False
    time.sleep(_RETRY_PAUSE)
    return True


# A Cluster node's answers that mean the script did not run there.
_REDIRECTIONS = ("MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN")


def _no_connection() -> Any:
    raise AssertionError("a Cluster's connections are its client's")


def _wait_and_room(answer: Any) -> tuple[float, int]:
    wait, room = answer
    return _float(wait), int(room)


def _address(connection: Any) -> str:
    host, port = str(connection.host), int(connection.port)
    return visible(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")


def _verdict(answer: Any) -> GuessVerdict:
    """`admit_guess`'s answer, kept small on the wire (its script says the shapes): a number,
    the attempts left; a string, the lock this guess set off; a list of one, refused."""
    if isinstance(answer, int):
        if answer < 0:
            raise ValueError("not a verdict")
        return GuessAdmitted(answer)
    if isinstance(answer, bytes):
        return GuessAdmitted(0, _float(answer))
    (locked_for,) = answer
    return GuessRefused(_float(locked_for))


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
    """A `LimitsLedger` in Redis, shared by every host that names the same server or group."""

    def __init__(
        self,
        clients: Clients,
        clock: Callable[[], float] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        replicas: int = 0,
    ) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import NoScriptError, ReadOnlyError, ResponseError

        self._clients = clients
        self.location = clients.location
        self.where = clients.where  # host:port (hosts and service for Sentinel), for messages
        self.timeout = timeout
        self.tls = clients.location.tls
        # Writes that count wait for this many replicas to acknowledge them (WAIT).
        self.replicas = replicas
        # None in use: the server's TIME. Tests hand in a clock to move time by hand.
        self._clock = clock
        self._errors = ReplyErrors(ResponseError, NoScriptError)
        self._read_only = ReadOnlyError
        self._connection_error = RedisConnectionError
        from redis.exceptions import AskError, ClusterDownError, MovedError, TryAgainError

        self._redirections = (AskError, ClusterDownError, MovedError, TryAgainError)
        # Behind Sentinel a failover is expected: an operation that certainly did not run
        # (no connection yet, or refused by a demoted primary) is tried again on the primary
        # the sentinels name, until the deadline.
        self._follows_failover = clients.location.topology is Topology.SENTINEL
        self._cluster = clients.location.topology is Topology.CLUSTER
        # One server or the primary: connections kept by the ledger (redis_connection); a
        # Cluster's are its client's, one pool per node.
        make = None if self._cluster else clients.data.connection_pool.make_connection
        self._connections = KeptConnections(make or _no_connection, (RedisConnectionError,))
        self._node_connections: dict[str, KeptConnections] = {}

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        password_file: Path | None = None,
        ca_file: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        replicas: int = 0,
        clock: Callable[[], float] | None = None,
        sentinel_password_file: Path | None = None,
    ) -> RedisLedger:
        """Connects lazily: the first operation (or `probe`) opens the connection."""
        clients = open_clients(
            locate(url),
            password_file=password_file,
            ca_file=ca_file,
            timeout=timeout,
            sentinel_password_file=sentinel_password_file,
        )
        return cls(clients, clock, timeout=timeout, replicas=replicas)

    def run(
        self,
        script: Script,
        keys: Sequence[str],
        args: Sequence[str] = (),
        decode: Callable[[Any], T] = _as_is,
        *,
        writes: bool = True,
    ) -> T:
        """Run `script` on `keys` with "now" and `args` as its ARGV, one atomic step, and
        `decode` its answer; all of it within one deadline, `timeout` seconds. A script that
        `writes` waits for `replicas` acknowledgements, and fails closed without them."""
        now = "" if self._clock is None else repr(float(self._clock()))
        wait = _WaitForReplicas(self.replicas) if self.replicas > 0 and writes else None
        try:
            with within(self.timeout):
                answer, acknowledged = self._send(script, keys, [now, *args], wait)
                if wait is not None:
                    wait.check(acknowledged)
                try:
                    return decode(answer)
                except SHAPE_ERRORS as error:
                    raise NotRedisError from error
        except Exception as error:
            raise self._said(error) from None

    def _send(
        self, script: Script, keys: Sequence[str], args: Sequence[str], wait: Then | None
    ) -> tuple[Any, Any]:
        """The script's answer (and WAIT's); behind Sentinel, tried again while it certainly
        did not run and the deadline allows."""
        while True:
            sent = False
            try:
                if self._cluster:
                    sent = True
                    answers: tuple[Any, Any] = self._on_cluster(script, keys, args)
                    return answers
                connection = self._connections.take()
                try:
                    sent = True
                    return script(connection, keys, args, self._errors, wait)
                except BaseException:
                    connection.disconnect()  # a late or garbled reply is never read as news
                    raise
                finally:
                    self._connections.give_back(connection)
            except Exception as error:
                if self._follows_failover and self._did_not_run(error, sent) and _room_to_retry():
                    continue
                raise

    def _on_cluster(self, script: Script, keys: Sequence[str], args: Sequence[str]) -> Any:
        """`script` on the node that holds the slot of `keys` (all in one slot).

        The fast way: over a connection kept to the node the client's map of slots names, as on
        one server. When that node answers MOVED, ASK, TRYAGAIN or CLUSTERDOWN, the script did
        not run there, and redis-py's Cluster client takes over: it follows the redirection,
        refreshes its map, and retries nothing else. NOSCRIPT is answered once with the source.
        """
        cluster = self._clients.data
        if keys:
            node = cluster.get_node_from_key(keys[0])
            kept = self._node_connections.get(node.name)
            if kept is None:
                pool = cluster.get_redis_connection(node).connection_pool
                kept = KeptConnections(pool.make_connection, (self._connection_error,))
                self._node_connections[node.name] = kept
            connection = kept.take()
            try:
                return script(connection, keys, args, self._errors)
            except self._errors.reply as error:
                redirected = isinstance(error, self._redirections)
                if not (redirected or str(error).startswith(_REDIRECTIONS)):
                    raise
            except BaseException:
                connection.disconnect()
                raise
            finally:
                kept.give_back(connection)
        try:
            return cluster.execute_command("EVALSHA", script.sha, len(keys), *keys, *args), None
        except self._errors.no_script:
            return cluster.execute_command("EVAL", script.source, len(keys), *keys, *args), None

    def _said(self, error: Exception) -> Exception:
        """The one LedgerError that says a failure of the server's; any other error as it is
        (a bug must not pass for an unreachable server)."""
        return failure(error, self.where, self.timeout, self.replicas) or error

    @contextmanager
    def one_sentence(self) -> Iterator[None]:
        """Any failure of the server's inside, as the one LedgerError that says it."""
        try:
            yield
        except Exception as error:
            raise self._said(error) from None

    def commands(self, *commands: Sequence[str | int]) -> tuple[list[Any], str]:
        """Plain commands in one write, their replies, and the host:port that answered."""
        with self.one_sentence(), within(self.timeout):
            connection = self._connections.take()
            try:
                # One write for them all (redis-py writes each item of a list apart).
                connection.send_packed_command([b"".join(pack(command) for command in commands)])
                replies = [connection.read_response() for _command in commands]
                return replies, _address(connection)
            except BaseException:
                connection.disconnect()
                raise
            finally:
                self._connections.give_back(connection)

    def _did_not_run(self, error: Exception, sent: bool) -> bool:
        """True when the script certainly did not run, so running it again counts nothing
        twice: no connection was made, or a primary demoted to a replica refused it."""
        if not sent:
            return isinstance(error, self._connection_error) and not isinstance(error, TimeoutError)
        return isinstance(error, self._read_only) or "previous master is now a slave" in str(error)

    @staticmethod
    def _entry(answer: Any) -> LedgerEntry:
        sends, wrong, consecutive, locked_for = answer
        return LedgerEntry(int(sends), int(wrong), int(consecutive), _float(locked_for))

    # -- LimitsLedger --------------------------------------------------------------------------

    def status(self, address: str) -> LedgerEntry:
        return self.run(script("status"), address_keys(address), decode=self._entry, writes=False)

    def reserve_send(self, address: str, budget: SendBudget) -> float:
        if self._cluster:
            return self._reserve_across_slots(address, budget)
        windows = budget.windows()
        keys = [address_keys(address)[1], *(budget_key(name) for name, _ in windows)]
        limits = [str(budget.per_address), *(str(per_hour) for _, per_hour in windows)]
        member = secrets.token_hex(8)
        return self.run(script("reserve_send"), keys, [member, *limits], decode=_float)

    def _reserve_across_slots(self, address: str, budget: SendBudget) -> float:
        """`reserve_send` on a Redis Cluster, where the address's sends and each shared budget
        lie in slots of their own, which no one script may touch together.

        First every window is checked, recording nothing: a send refused by any of them is
        recorded in none, as on one server. Then a place is taken in each window by a script
        that takes it only if the window has room, so no window ever holds more than its
        budget, whoever races: the scarcest window first, so that a race is most often lost
        before anything is taken. A place once taken is never given back: when a race is lost
        half-way, or the process dies half-way, the places already taken stay counted for their
        hour. That can only make a limit stricter than the sends made, never looser, and no
        crash can lower a count. The send goes ahead only once every place is taken.
        """
        windows = [(address_keys(address)[1], budget.per_address)]
        windows += [(budget_key(name), per_hour) for name, per_hour in budget.windows()]
        rooms = [
            self.run(script("room"), [key], [str(per_hour)], decode=_wait_and_room)
            for key, per_hour in windows
        ]
        wait = max(wait for wait, _room in rooms)
        if wait > 0:
            return wait
        member = secrets.token_hex(8)
        scarcest_first = sorted(zip(rooms, windows, strict=True), key=lambda pair: pair[0][1])
        for _room, (key, per_hour) in scarcest_first:
            wait = self.run(script("take"), [key], [member, str(per_hour)], decode=_float)
            if wait > 0:
                return wait  # lost a race: the places taken so far stay taken
        return 0.0

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

    # -- for the operator's check (redis_probe) -----------------------------------------------

    def probe_script(self) -> tuple[float, str]:
        """Run a harmless script: the server's time and version."""
        return self.run(script("probe"), [], decode=_time_and_version, writes=False)

    def cluster_info(self) -> dict[str, Any]:
        """CLUSTER INFO of a Cluster, within the deadline."""
        with self.one_sentence(), within(self.timeout):
            info: dict[str, Any] = self._clients.data.cluster_info()
            return info

    def sentinels_answering(self) -> tuple[int, int]:
        """How many of the sentinels answer a PING within the deadline, of how many."""
        answering = 0
        for sentinel in self._clients.sentinels:
            try:
                with within(self.timeout):
                    sentinel.ping()
                answering += 1
            except Exception as error:
                if failure(error, self.where, self.timeout) is None:
                    raise
        return answering, len(self._clients.sentinels)

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        # A call stuck on a silent server ends now, with a LedgerError.
        self._connections.close()
        for kept in self._node_connections.values():
            kept.close()
        self._clients.close()

    def __enter__(self) -> RedisLedger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
