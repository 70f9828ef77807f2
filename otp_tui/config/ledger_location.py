"""What ``[state] ledger`` names: an SQLite file, or a Redis server, Sentinel group or Cluster.

Read strictly, so that a value that cannot mean what it says is refused with one line rather
than taken for something else: an unknown scheme (``redis+cluster://`` in an otp-tui that did
not know it, ``memcached://``), a scheme without its ``//`` (``redis:/host``), or a relative path
(which would name a different file in each working directory, and each host its own ledger).
Nothing said about a URL quotes it: it may hold a password.

    redis[s]://[user[:password]@]host[:port][/db]
    redis[s]+sentinel://[user[:password]@]host[:port][,host[:port]...]/SERVICE[/db]
    redis[s]+cluster://[user[:password]@]host[:port][,host[:port]...]

The ``s`` asks for TLS. The user and password are the data nodes'; sentinels are asked without
one, or with ``ledger_sentinel_password_file``'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from urllib.parse import unquote

DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379


class Topology(Enum):
    SINGLE = "redis"
    SENTINEL = "redis+sentinel"
    CLUSTER = "redis+cluster"


# A scheme as RFC 3986 spells it, then a colon: what makes a value a URL rather than a path.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# The topologies this otp-tui can open; a scheme of any other is refused like an unknown one.
SUPPORTED = (Topology.SINGLE, Topology.SENTINEL, Topology.CLUSTER)
_SCHEMES = {
    f"{base}{topology.value.removeprefix('redis')}": (topology, tls)
    for topology in SUPPORTED
    for tls, base in ((False, "redis"), (True, "rediss"))
}


@dataclass(frozen=True)
class RedisLocation:
    """A Redis ledger: where, how, and as whom. `url` is the value as configured."""

    url: str
    topology: Topology
    tls: bool
    hosts: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    db: int
    service: str | None  # the Sentinel service (the primary's name), else None

    @property
    def where(self) -> str:
        """host:port[,host:port...] for messages: never the user or the password."""
        return ",".join(
            f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in self.hosts
        )


class LedgerLocationError(ValueError):
    """The value cannot be a ledger; the message says why without quoting it."""


def looks_like_url(value: str) -> bool:
    return _SCHEME.match(value) is not None


def parse_redis(value: str) -> RedisLocation:
    """The Redis ledger a URL names; LedgerLocationError for anything else."""
    match = _SCHEME.match(value)
    if match is None:
        raise LedgerLocationError("not a URL")
    scheme = match.group(1).lower()
    if scheme not in _SCHEMES:
        known = ", ".join(f"{name}://" for name in _SCHEMES)
        shown = scheme if scheme.isascii() and scheme.isprintable() and len(scheme) <= 30 else "?"
        raise LedgerLocationError(
            f"a URL of scheme {shown}:, which otp-tui does not read ({known})"
        )
    topology, tls = _SCHEMES[scheme]
    rest = value[match.end() :]
    if not rest.startswith("//"):
        raise LedgerLocationError(f"a {scheme}: URL must start with {scheme}://")
    authority, _slash, path = rest[2:].partition("/")
    if "?" in authority or "#" in authority or "?" in path or "#" in path:
        raise LedgerLocationError(
            f"a {scheme}:// URL with a query or fragment, which otp-tui does not read"
        )
    credentials, at, hosts_part = authority.rpartition("@")
    username = password = None
    if at:
        user_part, colon, password_part = credentials.partition(":")
        username = unquote(user_part) or None
        password = unquote(password_part) if colon else None
    default_port = DEFAULT_SENTINEL_PORT if topology is Topology.SENTINEL else DEFAULT_PORT
    hosts = tuple(_host_port(item, scheme, default_port) for item in hosts_part.split(","))
    if topology is Topology.SINGLE and len(hosts) > 1:
        raise LedgerLocationError(
            f"a {scheme}:// URL names one server"
            " (redis+sentinel:// and redis+cluster:// take several)"
        )
    segments = [unquote(part) for part in path.split("/")] if path else []
    service = None
    if topology is Topology.SENTINEL:
        if not segments or not segments[0]:
            raise LedgerLocationError(
                f"a {scheme}:// URL needs the service name after the hosts (…/SERVICE)"
            )
        service, segments = segments[0], segments[1:]
        if not (service.isascii() and service.isprintable()):
            raise LedgerLocationError(
                f"a {scheme}:// URL whose service name is not printable ASCII"
            )
    if topology is Topology.CLUSTER and segments and segments != ["0"]:
        raise LedgerLocationError(
            f"a {scheme}:// URL with a database: a Cluster has database 0 only"
        )
    db = 0
    if segments and segments[0]:
        if len(segments) > 1 or not segments[0].isdigit():
            raise LedgerLocationError(f"a {scheme}:// URL whose database is not a number")
        db = int(segments[0])
    return RedisLocation(value, topology, tls, hosts, username, password, db, service)


def _host_port(item: str, scheme: str, default_port: int) -> tuple[str, int]:
    if item.startswith("["):  # [IPv6]:port
        host, bracket, port_part = item[1:].partition("]")
        if not bracket or (port_part and not port_part.startswith(":")):
            raise LedgerLocationError(f"a {scheme}:// URL with a host that cannot be read")
        port_text = port_part[1:]
    else:
        host, _colon, port_text = item.partition(":")
    if not host:
        raise LedgerLocationError(f"a {scheme}:// URL needs a host name")
    if not (host.isascii() and host.isprintable()) or any(c in host for c in " /\\@"):
        raise LedgerLocationError(f"a {scheme}:// URL with a host that cannot be read")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise LedgerLocationError(f"a {scheme}:// URL with a port that is not a number")
    return host, int(port_text)


def parse_path(value: str | Path) -> Path:
    """The SQLite file a path names: it must be absolute once ``~`` is expanded."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        raise LedgerLocationError(
            "a relative path, which would be a different file from each working directory;"
            " give the ledger file's absolute path"
        )
    return path
