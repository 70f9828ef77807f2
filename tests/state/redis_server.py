"""A real redis-server on 127.0.0.1 for the tests: a free port, no persistence, an ACL user.

The user otp-tui gets exactly the commands the ledger's scripts use, on its own keys only, so
the tests also prove that the README's ACL line is enough. An admin user empties the server
between tests. Optionally TLS only (no plain port), with a trustme certificate.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

LOOPBACK = "127.0.0.1"
USER = "otp-tui"
PASSWORD = "s3cret-ledger-pw"
ADMIN_PASSWORD = "admin-pw"

# The commands the ledger needs, as an operator would grant them (README, "Many hosts").
ACL_COMMANDS = (
    "+eval +evalsha +time +hmget +hset +hdel +del +expire +persist"
    " +zcount +zremrangebyscore +zcard +zrange +zadd +wait +role"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def have_redis_server() -> bool:
    return shutil.which("redis-server") is not None


@dataclass
class TlsFiles:
    cert: Path
    key: Path
    ca: Path


class RedisServer:
    """One redis-server process; `url` for the ledger, `admin` to look inside or flush."""

    def __init__(
        self,
        directory: Path,
        tls: TlsFiles | None = None,
        extra: tuple[str, ...] = (),
        port: int | None = None,
        acl_extra: tuple[str, ...] = (),
    ) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.tls = tls
        self.extra = extra  # more lines of redis.conf (replicaof, cluster-enabled...)
        self.acl_extra = acl_extra  # more commands for the ledger's user
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def _config(self) -> Path:
        lines = [
            f"bind {LOOPBACK}",
            "protected-mode yes",
            'save ""',
            "appendonly no",
            f"dir {self.directory}",
            "user default off",
            f"user {USER} on >{PASSWORD} ~otp-tui:* {' '.join((ACL_COMMANDS, *self.acl_extra))}",
            f"user admin on >{ADMIN_PASSWORD} ~* &* +@all",
            *self.extra,
        ]
        if self.tls is None:
            lines.append(f"port {self.port}")
        else:
            lines += [
                "port 0",
                f"tls-port {self.port}",
                f"tls-cert-file {self.tls.cert}",
                f"tls-key-file {self.tls.key}",
                f"tls-ca-cert-file {self.tls.ca}",
                "tls-auth-clients no",
            ]
        path = self.directory / "redis.conf"
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        return path

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", str(self._config())],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:  # bounded poll for readiness, not a wait for time to pass
            try:
                self.admin().ping()
                return
            except redis.RedisError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)

    @property
    def scheme(self) -> str:
        return "redis" if self.tls is None else "rediss"

    def url(self, user: str = USER, password: str | None = PASSWORD) -> str:
        secret = f":{password}" if password is not None else ""
        return f"{self.scheme}://{user}{secret}@{LOOPBACK}:{self.port}/0"

    def admin(self) -> redis.Redis:
        options: dict[str, Any] = {"socket_timeout": 5, "socket_connect_timeout": 5}
        if self.tls is not None:
            options["ssl_ca_certs"] = str(self.tls.ca)
        return redis.Redis.from_url(self.url("admin", ADMIN_PASSWORD), **options)

    def flush(self) -> None:
        with self.admin() as admin:
            admin.flushall()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


class SilentListener:
    """A loopback port whose kernel completes the handshake, and nobody ever reads or answers."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind((LOOPBACK, 0))
        self.socket.listen(16)
        self.port = int(self.socket.getsockname()[1])

    def close(self) -> None:
        self.socket.close()
