"""Fixtures for the state tests: a fake wall clock, the three ledgers (memory, SQLite, Redis on
a real redis-server), a directory `nobody` can use."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis_cluster import RedisClusterGroup
from redis_group import SentinelGroup
from redis_server import RedisServer, TlsFiles
from state_helpers import START, FakeClock

from otp_tui.core.limits import LimitsLedger, MemoryLedger
from otp_tui.state.redis_ledger import RedisLedger
from otp_tui.state.sqlite_ledger import SqliteLedger


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session (plain TCP, ACL user and password); tests that share it
    start from an empty server through `fresh_redis`."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_tls_server(
    tmp_path_factory: pytest.TempPathFactory, tls_certs: Any
) -> Iterator[RedisServer]:
    """A redis-server that speaks TLS only, with a certificate from the test CA."""
    directory = tmp_path_factory.mktemp("redis-tls")
    files = TlsFiles(directory / "cert.pem", directory / "key.pem", tls_certs.ca_file)
    tls_certs.good.cert_chain_pems[0].write_to_path(str(files.cert))
    tls_certs.good.private_key_pem.write_to_path(str(files.key))
    server = RedisServer(directory / "server", tls=files)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sentinel_group(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelGroup]:
    """A primary, two replicas and three sentinels for the session; tests that share it start
    from an empty primary through `fresh_sentinel_group`, and leave it as they found it."""
    group = SentinelGroup(tmp_path_factory.mktemp("sentinel"))
    try:
        yield group
    finally:
        group.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterGroup]:
    """A three-master Redis Cluster for the session; tests start from empty masters through
    `fresh_cluster`."""
    group = RedisClusterGroup(tmp_path_factory.mktemp("cluster"))
    try:
        yield group
    finally:
        group.stop()


@pytest.fixture
def fresh_cluster(redis_cluster: RedisClusterGroup) -> RedisClusterGroup:
    redis_cluster.flush()
    return redis_cluster


@pytest.fixture
def fresh_sentinel_group(sentinel_group: SentinelGroup) -> SentinelGroup:
    sentinel_group.flush()
    return sentinel_group


@pytest.fixture
def fresh_redis(redis_server: RedisServer) -> RedisServer:
    redis_server.flush()
    return redis_server


@pytest.fixture(params=["memory", "sqlite", "redis", "sentinel", "cluster"])
def ledger(
    request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path
) -> Iterator[LimitsLedger]:
    """The same contract, run against the reference ledger, the SQLite one and the Redis one
    (with the test's clock handed to its scripts instead of the server's TIME), on one server,
    behind Sentinel with each write acknowledged by a replica, and on a Cluster."""
    if request.param == "memory":
        yield MemoryLedger(clock)
        return
    if request.param == "cluster":
        cluster = request.getfixturevalue("fresh_cluster")
        with RedisLedger.from_url(cluster.url(), clock=clock) as cluster_ledger:
            yield cluster_ledger
        return
    if request.param == "sentinel":
        group = request.getfixturevalue("fresh_sentinel_group")
        with RedisLedger.from_url(group.url(), clock=clock, replicas=1) as sentinel_ledger:
            yield sentinel_ledger
        return
    if request.param == "redis":
        server = request.getfixturevalue("fresh_redis")
        with RedisLedger.from_url(server.url(), clock=clock) as redis_ledger:
            yield redis_ledger
        return
    with SqliteLedger(tmp_path / "state" / "ledger.sqlite3", clock=clock) as sqlite_ledger:
        yield sqlite_ledger


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the unprivileged child may write to (tmp_path's parents are root-only)."""
    path = Path(tempfile.mkdtemp(prefix="otp-tui-state-"))
    path.chmod(0o777)
    try:
        yield path
    finally:
        # The child may have left read-only directories behind; give write access back first.
        for parent, dirs, _files in os.walk(path):
            for name in dirs:
                child = Path(parent, name)
                child.chmod(child.stat().st_mode | stat.S_IRWXU)
        shutil.rmtree(path)


@pytest.fixture(scope="session")
def processes() -> Any:
    # forkserver: each worker is a fork of one clean, preloaded server, so 50 start quickly
    # without inheriting pytest's state (plain fork would).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["state_workers", "fault_run"])
    return context
