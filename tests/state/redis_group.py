"""A Redis Sentinel group on 127.0.0.1 for the tests: a primary, replicas and sentinels, each a
real redis-server or redis-sentinel process on a free port, started and stopped here.

The settings are the ones the README's "Many hosts" section shows: no persistence, ACL users on
the data nodes (the ledger's own, and an admin the replicas and sentinels use), sentinels that
call a primary down after a second without an answer and need two of three to agree.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import redis
from redis_server import ADMIN_PASSWORD, LOOPBACK, PASSWORD, USER, RedisServer, free_port

SERVICE = "otp"
DOWN_AFTER_MS = 1000
QUORUM = 2


class Sentinel:
    """One redis-sentinel process watching SERVICE."""

    def __init__(self, directory: Path, primary_port: int, password: str | None = None) -> None:
        self.directory = directory
        self.password = password
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        # Sentinel rewrites its file as it learns the group: it must be its own and writable.
        self.config = directory / "sentinel.conf"
        self.config.write_text(
            "\n".join(
                [
                    f"bind {LOOPBACK}",
                    f"port {self.port}",
                    f"dir {directory}",
                    f"sentinel monitor {SERVICE} {LOOPBACK} {primary_port} {QUORUM}",
                    f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}",
                    f"sentinel failover-timeout {SERVICE} 10000",
                    f"sentinel parallel-syncs {SERVICE} 1",
                    f"sentinel auth-user {SERVICE} admin",
                    f"sentinel auth-pass {SERVICE} {ADMIN_PASSWORD}",
                    # Clients must give it; the sentinels give it to each other too.
                    *([f"requirepass {password}"] if password is not None else []),
                ]
            )
            + "\n"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-sentinel", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def client(self) -> redis.Redis:
        return redis.Redis(
            LOOPBACK, self.port, password=self.password, socket_timeout=2, socket_connect_timeout=2
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


class SentinelGroup:
    """A primary, `replicas` replicas and `sentinels` sentinels; `url` for the ledger."""

    def __init__(
        self,
        directory: Path,
        replicas: int = 2,
        sentinels: int = 3,
        sentinel_password: str | None = None,
    ) -> None:
        """`sentinel_password`: the sentinels' `requirepass` (None: they ask for none)."""
        self.directory = directory
        self.primary = RedisServer(directory / "primary")
        self.replicas = [
            RedisServer(directory / f"replica{n}", extra=self._replica_of(self.primary.port))
            for n in range(replicas)
        ]
        self.sentinels = [
            Sentinel(directory / f"sentinel{n}", self.primary.port, sentinel_password)
            for n in range(sentinels)
        ]
        self.wait_until_settled()

    @staticmethod
    def _replica_of(port: int) -> tuple[str, ...]:
        return (
            f"replicaof {LOOPBACK} {port}",
            "masteruser admin",
            f"masterauth {ADMIN_PASSWORD}",
        )

    @property
    def servers(self) -> list[RedisServer]:
        return [self.primary, *self.replicas]

    def url(self, user: str = USER, password: str | None = PASSWORD, db: int = 0) -> str:
        secret = f":{password}" if password is not None else ""
        hosts = ",".join(f"{LOOPBACK}:{s.port}" for s in self.sentinels if s.process)
        return f"redis+sentinel://{user}{secret}@{hosts}/{SERVICE}/{db}"

    def primary_port(self) -> int:
        """The port of the primary the sentinels name now."""
        for sentinel in self.sentinels:
            if sentinel.process is None:
                continue
            try:
                with sentinel.client() as client:
                    address = client.sentinel_get_master_addr_by_name(SERVICE)
            except redis.RedisError:
                continue
            if address:
                return int(address[1])
        raise RuntimeError("no sentinel names a primary")

    def server_on(self, port: int) -> RedisServer:
        (server,) = [s for s in self.servers if s.port == port]
        return server

    def wait_until_settled(self, timeout: float = 30) -> None:
        """Until the sentinels agree on a primary that answers, know each other, and every
        live replica has synced from it: a bounded poll for readiness."""
        deadline = time.monotonic() + timeout
        while True:
            if self._settled():
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the Sentinel group did not settle")
            time.sleep(0.1)

    def _settled(self) -> bool:
        try:
            port = self.primary_port()
            with self.server_on(port).admin() as admin:
                if admin.role()[0] != b"master":
                    return False
                live = [r for r in self.servers if r.process is not None and r.port != port]
                if int(admin.info("replication")["connected_slaves"]) < len(live):
                    return False
            for server in live:
                with server.admin() as admin:
                    info = admin.info("replication")
                    if info.get("master_link_status") != "up" or info["master_port"] != port:
                        return False
            running = [s for s in self.sentinels if s.process is not None]
            for sentinel in running:
                with sentinel.client() as client:
                    if len(client.sentinel_sentinels(SERVICE)) < len(running) - 1:
                        return False
                    master = client.sentinel_master(SERVICE)
                    if int(master["port"]) != port or master.get("num-slaves", 0) < len(live):
                        return False
        except (redis.RedisError, RuntimeError, ValueError):
            return False
        return True

    def flush(self) -> None:
        with self.server_on(self.primary_port()).admin() as admin:
            admin.flushall()
            admin.wait(len(self.replicas), 2000)

    def kill_primary(self) -> RedisServer:
        server = self.server_on(self.primary_port())
        server.stop()
        return server

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.stop()
        for server in self.servers:
            server.stop()

    def counts(self, key: str) -> dict[int, Any]:
        """A key's value on every live data node, by port (to compare before and after)."""
        found = {}
        for server in self.servers:
            if server.process is not None:
                with server.admin() as admin:
                    found[server.port] = admin.hgetall(key)
        return found
