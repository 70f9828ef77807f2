"""The redis-py clients for the ledger's settings: one server, or a Sentinel group and the
primary it names; the password from the URL or a file (and the sentinels' own, from a file of
their own), TLS, no automatic retries, and every connection (the sentinels' too) bound by the
operation's deadline.

Everything said about a URL names its hosts and ports only: the rest may hold the password.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otp_tui.config.ledger_location import (
    LedgerLocationError,
    RedisLocation,
    Topology,
    parse_redis,
)
from otp_tui.core.untrusted import visible
from otp_tui.language import _
from otp_tui.state.errors import LedgerError
from otp_tui.state.redis_deadline import with_deadline
from otp_tui.state.redis_errors import SentinelsRefusedPasswordError

if TYPE_CHECKING:
    import redis


@dataclass
class Clients:
    """What a Redis ledger talks to. `data` holds the counts (the primary, for Sentinel; a
    RedisCluster client, for a Cluster); `sentinels` are the Sentinel group's own clients."""

    data: Any  # redis.Redis, or redis.cluster.RedisCluster
    location: RedisLocation
    where: str
    sentinels: list[redis.Redis] = field(default_factory=list)

    def close(self) -> None:
        self.data.close()
        for sentinel in self.sentinels:
            sentinel.close()


def locate(url: str) -> RedisLocation:
    """The parsed URL, or the LedgerError that says it cannot be read without quoting it."""
    try:
        return parse_redis(url)
    except LedgerLocationError:
        raise LedgerError(
            _("The Redis ledger URL in state.ledger cannot be read."), Path("state.ledger")
        ) from None


def where_of(location: RedisLocation) -> str:
    """The hosts and ports, for messages (and the service, for Sentinel)."""
    where = location.where
    if location.service is not None:
        where = f"{where}/{location.service}"
    return visible(where)


def open_clients(
    location: RedisLocation,
    *,
    password_file: Path | None,
    ca_file: Path | None,
    timeout: float,
    sentinel_password_file: Path | None = None,
) -> Clients:
    """The clients for `location`; they connect only when first used. `sentinel_password_file`
    holds the sentinels' password (their `requirepass`); without it they are asked without."""
    where = where_of(location)
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
        from redis.sentinel import Sentinel
    except ImportError:  # pragma: no cover - redis is a dependency
        raise LedgerError(
            _("The ledger is on Redis at {where}, but the redis package is not installed.").format(
                where=where
            ),
            Path(where),
        ) from None
    common: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        # No retries: a script retried after a timeout might run twice.
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 0,
    }
    if location.tls:
        common["ssl_cert_reqs"] = "required"
        common["ssl_check_hostname"] = True
        if ca_file is not None:
            common["ssl_ca_certs"] = str(ca_file)
    data = dict(common, username=location.username, password=location.password, db=location.db)
    if password_file is not None:
        if location.password is not None:
            raise LedgerError(
                _(
                    "The Redis ledger at {where} has a password in its URL and a"
                    " ledger_password_file; set one or the other."
                ).format(where=where),
                Path(where),
            )
        data["password"] = read_password(password_file)
    if location.topology is Topology.SENTINEL:
        assert location.service is not None
        tls: dict[str, Any] = {"ssl": True} if location.tls else {}
        asked = dict(common, **tls)
        if sentinel_password_file is not None:
            asked["password"] = read_password(sentinel_password_file)
        sentinel = _sentinel_class(Sentinel)(list(location.hosts), sentinel_kwargs=asked, **tls)
        sentinels = list(sentinel.sentinels)
        for client in sentinels:
            _bind_to_deadline(client)
        primary = sentinel.master_for(location.service, **data)
        return Clients(_bind_to_deadline(primary), location, where, sentinels)
    if location.tls:
        data["ssl"] = True
    if location.topology is Topology.CLUSTER:
        from redis.cluster import ClusterNode, RedisCluster
        from redis.connection import Connection, SSLConnection

        del data["db"]  # a Cluster has database 0 only
        cluster = RedisCluster(
            startup_nodes=[
                ClusterNode(host, port)  # type: ignore[no-untyped-call]
                for host, port in location.hosts
            ],
            # Every node's connections keep the deadline. MOVED and ASK are followed (the
            # script did not run where it was refused); nothing else is retried.
            connection_class=with_deadline(SSLConnection if location.tls else Connection),
            **data,
        )
        return Clients(cluster, location, where)
    ((host, port),) = location.hosts
    return Clients(_bind_to_deadline(redis.Redis(host=host, port=port, **data)), location, where)


@functools.cache
def _sentinel_class(sentinel: type[Any]) -> type[Any]:
    """redis-py's `Sentinel`, telling sentinels that refused the password apart from sentinels
    that are down: it passes over both alike while it looks for the primary, and a wrong or
    missing password would otherwise read as "no sentinel names a primary"."""
    import redis
    from redis.exceptions import AuthenticationError
    from redis.sentinel import MasterNotFoundError

    class AskedSentinel(redis.Redis):
        refused = False

        def sentinel_masters(self, **options: Any) -> Any:
            try:
                return super().sentinel_masters(**options)
            except AuthenticationError:
                self.refused = True
                raise

    class PasswordAwareSentinel(sentinel):  # type: ignore[misc]
        def __init__(self, hosts: list[tuple[str, int]], **options: Any) -> None:
            super().__init__(hosts, **options)
            self.sentinels = [AskedSentinel(h, p, **self.sentinel_kwargs) for h, p in hosts]

        def discover_master(self, service_name: str) -> Any:
            # Threads looking at once share the marks: at worst one is told the other of the
            # two sentences, never an answer.
            for client in self.sentinels:
                client.refused = False
            try:
                return super().discover_master(service_name)
            except MasterNotFoundError:
                if any(client.refused for client in self.sentinels):
                    raise SentinelsRefusedPasswordError from None
                raise

    return PasswordAwareSentinel


def _bind_to_deadline(client: redis.Redis) -> redis.Redis:
    pool = client.connection_pool
    pool.connection_class = with_deadline(pool.connection_class)
    return client


def read_password(password_file: Path) -> str:
    try:
        return password_file.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        raise LedgerError(
            _("The Redis ledger's password file {path} cannot be read: {reason}.").format(
                path=password_file, reason=error.strerror
            ),
            password_file,
        ) from None
