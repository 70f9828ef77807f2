"""A Redis Cluster on 127.0.0.1 for the tests: three masters (real redis-server processes on
free ports, `cluster-enabled yes`), joined by `redis-cli --cluster create`, stopped here.

The settings are the ones the README's "Many hosts" section shows; the ledger's ACL user gets
what redis-py's Cluster client asks of it besides the ledger's own commands.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import redis
from redis_server import ADMIN_PASSWORD, LOOPBACK, PASSWORD, USER, RedisServer, free_port

# What the Cluster client needs: the map of slots, the commands (where their keys are), and
# ASKING during a slot's migration.
CLUSTER_COMMANDS = ("+cluster|slots +cluster|shards +cluster|nodes +cluster|info +asking +command",)


class RedisClusterGroup:
    """`masters` masters sharing the 16384 slots; `url` for the ledger."""

    def __init__(self, directory: Path, masters: int = 3) -> None:
        self.directory = directory
        self.nodes = [
            RedisServer(
                directory / f"node{n}",
                extra=(
                    "cluster-enabled yes",
                    # Its own bus port: the default (the port + 10000) may not exist.
                    f"cluster-port {free_port()}",
                    f"cluster-config-file {directory / f'node{n}' / 'nodes.conf'}",
                    "cluster-node-timeout 5000",
                    "cluster-require-full-coverage yes",
                ),
                acl_extra=CLUSTER_COMMANDS,
            )
            for n in range(masters)
        ]
        try:
            self.cli(
                "--cluster",
                "create",
                *(f"{LOOPBACK}:{node.port}" for node in self.nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            )
            self.wait_until_ok()
        except BaseException:
            self.stop()
            raise

    def cli(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            ["redis-cli", "--user", "admin", "-a", ADMIN_PASSWORD, "--no-auth-warning", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )
        return done.stdout

    def url(self, user: str = USER, password: str | None = PASSWORD) -> str:
        secret = f":{password}" if password is not None else ""
        hosts = ",".join(f"{LOOPBACK}:{node.port}" for node in self.nodes)
        return f"redis+cluster://{user}{secret}@{hosts}"

    def wait_until_ok(self, timeout: float = 60) -> None:
        """Until every node says the cluster is ok and covers every slot (a bounded poll)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                infos = []
                for node in self.nodes:
                    with node.admin() as admin:
                        infos.append(admin.cluster("info"))
                if all(
                    info["cluster_state"] == "ok" and int(info["cluster_slots_ok"]) == 16384
                    for info in infos
                ):
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not come up")
            time.sleep(0.1)

    def node_of(self, key: str) -> RedisServer:
        with self.nodes[0].admin() as admin:
            slot = int(admin.cluster("keyslot", key))
            for start, end, *owners in admin.cluster("slots"):
                if start <= slot <= end:
                    port = int(owners[0][1])
                    (node,) = [n for n in self.nodes if n.port == port]
                    return node
        raise RuntimeError(f"no node holds slot {slot}")

    def flush(self) -> None:
        for node in self.nodes:
            with node.admin() as admin:
                admin.flushall()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def node_id(node: RedisServer) -> str:
    with node.admin() as admin:
        found = admin.cluster("myid")
    return found.decode() if isinstance(found, bytes) else str(found)


def move_slot_of(
    group: RedisClusterGroup,
    key: str,
    source: RedisServer,
    target: RedisServer,
    batch: int = 100,
) -> None:
    """Move the slot of `key`, with its keys, from `source` to `target`, as `redis-cli --cluster
    reshard` does for each slot: IMPORTING and MIGRATING, MIGRATE `batch` keys at a time, then
    the new owner told to every node. Clients see ASK while it runs and MOVED after."""
    with source.admin() as admin:
        slot = int(admin.cluster("keyslot", key))
    source_id, target_id = node_id(source), node_id(target)
    with target.admin() as admin:
        admin.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
    with source.admin() as admin:
        admin.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        while keys := admin.execute_command("CLUSTER", "GETKEYSINSLOT", slot, batch):
            admin.execute_command(
                "MIGRATE", LOOPBACK, target.port, "", 0, 5000,
                "AUTH2", "admin", ADMIN_PASSWORD, "KEYS", *keys,
            )  # fmt: skip
    for node in (target, source, *[n for n in group.nodes if n not in (source, target)]):
        with node.admin() as admin:
            admin.execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
    group.wait_until_ok()
    group.wait_until_owned(slot, target)  # type: ignore[attr-defined]


def wait_until_owned(
    group: RedisClusterGroup, slot: int, owner: RedisServer, timeout: float = 30
) -> None:
    """Until every node names `owner` as the owner of `slot` (a bounded poll): the nodes'
    gossip may otherwise still carry the old owner's claim, and undo the move."""
    owner_id = node_id(owner)
    deadline = time.monotonic() + timeout
    while True:
        views = []
        for node in group.nodes:
            with node.admin() as admin:
                views.append(_owner_in(admin.execute_command("CLUSTER", "NODES"), slot))
        if views == [owner_id] * len(group.nodes):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the nodes do not agree who owns slot {slot}: {views}")
        time.sleep(0.05)


def _owner_in(nodes: Any, slot: int) -> str | None:
    text = nodes.decode() if isinstance(nodes, bytes) else str(nodes)
    for line in text.splitlines():
        fields = line.split()
        for held in fields[8:]:
            if held.startswith("["):  # a slot being migrated or imported, not held
                continue
            start, _, end = held.partition("-")
            if int(start) <= slot <= int(end or start):
                return fields[0]
    return None


RedisClusterGroup.move_slot_of = move_slot_of  # type: ignore[attr-defined]
RedisClusterGroup.wait_until_owned = wait_until_owned  # type: ignore[attr-defined]


def addresses_in_slot_of(address: str, count: int) -> list[str]:
    """`count` addresses whose keys lie in the same slot as `address`'s (CRC16 of the hash tag,
    as Redis Cluster computes it), found by trying names in turn."""
    from redis.crc import key_slot

    slot = key_slot(address.encode())
    found: list[str] = []
    number = 0
    while len(found) < count:
        number += 1
        candidate = f"own{number}@example.com"
        if key_slot(candidate.encode()) == slot:
            found.append(candidate)
    return found


def snapshot_all(group: RedisClusterGroup) -> dict[str, Any]:
    """`fault_run.snapshot` of every node, as one."""
    from fault_run import snapshot

    found: dict[str, Any] = {}
    for node in group.nodes:
        with node.admin() as admin:
            found.update(snapshot(admin))
    return found
