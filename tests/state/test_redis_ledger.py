"""What only the Redis ledger must get right: one truth for a fleet, the server's clock, keys
that expire, a deadline on every call, and failing closed with one sentence.

All of it against a real redis-server on 127.0.0.1 (see redis_server.py), never a fake: only a
real server proves that the scripts are atomic.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import state_workers
from faults import DrippingProxy, NotRedis
from ledger_scenes import budget_sends, lock
from redis_group import SentinelGroup
from redis_server import PASSWORD, RedisServer, SilentListener
from state_helpers import FakeClock, run_all

from otp_tui.cli import main
from otp_tui.config.schema import Settings
from otp_tui.core.limits import FOREVER, GuessAdmitted, GuessLimits, LedgerEntry, SendBudget
from otp_tui.state.errors import LedgerError
from otp_tui.state.ledger import open_ledger
from otp_tui.state.ledger_check import check_ledger
from otp_tui.state.redis_ledger import RedisLedger
from otp_tui.state.redis_probe import probe
from otp_tui.state.sqlite_ledger import SqliteLedger

ALICE = "alice@example.com"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def settings_for(url: str, **state: Any) -> Settings:
    return Settings(state={"ledger": url, **state})  # type: ignore[arg-type]


def refused(ledger: RedisLedger, deadline: float) -> str:
    """The LedgerError a status call ends in, checked to come within `deadline` seconds."""
    started = time.monotonic()
    with pytest.raises(LedgerError) as caught:
        ledger.status(ALICE)
    assert time.monotonic() - started < deadline
    message = str(caught.value)
    assert "\n" not in message
    assert PASSWORD not in message
    return message


# -- choosing the backend ------------------------------------------------------------------------


def test_a_redis_url_opens_the_redis_ledger_and_a_path_the_sqlite_one(
    fresh_redis: RedisServer, tmp_path: Path
) -> None:
    with open_ledger(settings_for(fresh_redis.url())) as ledger:
        assert isinstance(ledger, RedisLedger)
        assert ledger.where == f"127.0.0.1:{fresh_redis.port}"
        ledger.admit_guess(ALICE, GuessLimits(5, 900, 100), "t")
    with open_ledger(settings_for(str(tmp_path / "ledger.sqlite3"))) as ledger:
        assert isinstance(ledger, SqliteLedger)
        assert ledger.status(ALICE) == LedgerEntry(0, 0, 0, 0.0)


def test_a_redis_url_that_cannot_be_read_is_a_config_error_without_the_url(
    tmp_path: Path,
) -> None:
    from otp_tui.config.loading import ConfigError, ConfigFile, load_settings

    config = tmp_path / "config.toml"
    for url, reason in (
        ("redis://:hunter2@host:notaport/0", "a port that is not a number"),
        ("redis://:hunter2@/0", "needs a host name"),
    ):
        config.write_text(f'[state]\nledger = "{url}"\n')
        with pytest.raises(ConfigError) as caught:
            load_settings(ConfigFile(config, explicit=True), {})
        [line] = caught.value.problems
        assert "state.ledger" in line
        assert reason in line
        assert "hunter2" not in line


def test_the_password_may_come_from_a_file(fresh_redis: RedisServer, tmp_path: Path) -> None:
    secret = tmp_path / "ledger-password"
    secret.write_text(PASSWORD + "\n")
    url = f"redis://otp-tui@127.0.0.1:{fresh_redis.port}/0"
    with open_ledger(settings_for(url, ledger_password_file=secret)) as ledger:
        ledger.record_success(ALICE)
    with pytest.raises(LedgerError, match="one or the other"):
        open_ledger(settings_for(fresh_redis.url(), ledger_password_file=secret))
    with pytest.raises(LedgerError, match="cannot be read"):
        open_ledger(settings_for(url, ledger_password_file=tmp_path / "absent"))


# -- keys ----------------------------------------------------------------------------------------


def test_keys_share_the_address_tag_and_expire_when_they_no_longer_matter(
    fresh_redis: RedisServer,
) -> None:
    admin = fresh_redis.admin()
    state, sends = f"otp-tui:{{{ALICE}}}:state", f"otp-tui:{{{ALICE}}}:sends"
    with RedisLedger.from_url(fresh_redis.url()) as ledger:
        assert ledger.reserve_send(ALICE, SendBudget(5, 60, 10, ("user:alice",))) == 0
        assert 3600 < admin.ttl(sends) <= 3660
        assert 3600 < admin.ttl("otp-tui:{budget:total}:sends") <= 3660
        assert 3600 < admin.ttl("otp-tui:{budget:user:alice}:sends") <= 3660
        ledger.admit_guess(ALICE, GuessLimits(5, 900, 100), "t1")
        assert admin.ttl(state) == -1  # a wrong code counts until a success: kept
        ledger.record_success(ALICE)
        assert not admin.exists(state)  # nothing left that counts
        lock(ledger, ALICE, 900)
        assert 900 < admin.ttl(state) <= 960  # a lock alone: gone a minute after it ends
        lock(ledger, ALICE, FOREVER)
        assert admin.ttl(state) == -1  # a lock only an operator lifts never expires
        ledger.unlock(ALICE)
        assert not admin.exists(state)
    assert sorted(key.decode() for key in admin.keys("otp-tui:*")) == sorted(
        [sends, "otp-tui:{budget:total}:sends", "otp-tui:{budget:user:alice}:sends"]
    )


def test_a_key_that_expires_is_kept_again_once_it_counts(
    fresh_redis: RedisServer, clock: FakeClock
) -> None:
    admin = fresh_redis.admin()
    state = f"otp-tui:{{{ALICE}}}:state"
    with RedisLedger.from_url(fresh_redis.url(), clock=clock) as ledger:
        lock(ledger, ALICE, 10)
        assert 60 < admin.ttl(state) <= 70  # counts zero, a lock: it expires
        clock.advance(20)
        assert ledger.admit_guess(ALICE, GuessLimits(5, 900, 100), "t1") == GuessAdmitted(4, None)
        assert admin.ttl(state) == -1  # it counts again: kept
        ledger.record_success(ALICE)
        assert 0 < admin.ttl(state) <= 60  # nothing counts; the ended lock is kept a minute
        admitted = ledger.admit_guess(ALICE, GuessLimits(1, 10, 100), "t2")
        assert isinstance(admitted, GuessAdmitted)
        assert admitted.lock == 10
        assert admin.hget(state, "t") == b"t2"
        assert admin.ttl(state) == -1  # a consecutive failure counts
        lock(ledger, ALICE, 900)  # a lock of its own: the guess's token goes
        assert admin.hget(state, "t") is None
        assert ledger.status(ALICE) == LedgerEntry(0, 0, 1, 900.0)


def test_times_are_the_servers_whatever_the_hosts_clock_says(fresh_redis: RedisServer) -> None:
    with RedisLedger.from_url(fresh_redis.url()) as ledger:
        lock(ledger, ALICE, 900)
        server_now = float(probe(ledger).rsplit(" ", 1)[1])
    assert abs(server_now - time.time()) < 5
    # Another host whose wall clock is an hour ahead, in its own process: the same lock.
    answer = _host(fresh_redis, "status", ALICE, offset=3600)
    assert 890 < answer["entry"][3] <= 900


# -- one connection, one command per call ------------------------------------------------------


def _commands(admin: Any) -> dict[str, int]:
    stats = admin.info("commandstats")
    return {name.removeprefix("cmdstat_"): row["calls"] for name, row in stats.items()}


def test_calls_keep_one_connection_and_send_one_command_each(fresh_redis: RedisServer) -> None:
    admin = fresh_redis.admin()
    limits = GuessLimits(10**9, 900, 10**9)
    with RedisLedger.from_url(fresh_redis.url()) as ledger:
        ledger.status(ALICE)
        ledger.admit_guess(ALICE, limits, "t0")  # both scripts are cached on the server now
        admin.config_resetstat()
        for number in range(20):
            ledger.admit_guess(ALICE, limits, f"t{number + 1}")
        commands = _commands(admin)
        assert admin.info("stats")["total_connections_received"] == 0
        assert ledger.status(ALICE).consecutive_failures == 21
    # One EVALSHA per call (and admin's own INFO and CONFIG); inside the script, a guess that
    # only counts reads the hash and writes it: no TIME on an address that was never locked, no
    # HDEL of a field it lacks, no PERSIST of a key that has no time to live.
    assert commands["evalsha"] == 20
    assert {name for name in commands if name not in ("info", "config|resetstat")} == {
        "evalsha",
        "hmget",
        "hset",
    }
    assert commands["hset"] == 20


def test_a_write_and_its_wait_leave_in_one_write(fresh_sentinel_group: SentinelGroup) -> None:
    limits = GuessLimits(10**9, 900, 10**9)
    with RedisLedger.from_url(fresh_sentinel_group.url(), replicas=1) as ledger:
        ledger.admit_guess(ALICE, limits, "t0")  # connected, the scripts cached
        ledger.reserve_send(ALICE, SendBudget(5, 60, 10))
        connection = ledger._connections.take()
        ledger._connections.give_back(connection)
        sock = connection._sock  # type: ignore[attr-defined]
        writes: list[bytes] = []

        def sendall(data: bytes) -> None:
            writes.append(bytes(data))
            type(sock).sendall(sock, data)

        sock.sendall = sendall
        ledger.admit_guess(ALICE, limits, "t1")
        ledger.reserve_send(ALICE, SendBudget(5, 60, 10))
    # Each in one system call and one packet, as one round trip: the script, then its WAIT.
    assert len(writes) == 2
    assert all(data.startswith(b"*") and b"EVALSHA" in data and b"WAIT" in data for data in writes)


def test_a_connection_the_server_closed_is_replaced_without_a_failure(
    fresh_redis: RedisServer,
) -> None:
    admin = fresh_redis.admin()
    with RedisLedger.from_url(fresh_redis.url()) as ledger:
        ledger.admit_guess(ALICE, GuessLimits(5, 900, 100), "t1")
        # As the server's idle timeout, a restart or an operator would: the kept socket is dead.
        assert admin.client_kill_filter(user="otp-tui") == 1
        assert ledger.status(ALICE).wrong_codes == 1
        assert ledger.admit_guess(ALICE, GuessLimits(5, 900, 100), "t2") == GuessAdmitted(3, None)


def test_a_forked_child_connects_on_its_own(fresh_redis: RedisServer) -> None:
    admin = fresh_redis.admin()
    limits = GuessLimits(10**9, 900, 10**9)
    with RedisLedger.from_url(fresh_redis.url()) as ledger:
        ledger.admit_guess(ALICE, limits, "parent")
        before = admin.info("stats")["total_connections_received"]
        pid = os.fork()
        if pid == 0:  # the child: exit status 0 only if every guess was counted in step
            status = 1
            try:
                verdicts = [ledger.admit_guess(ALICE, limits, f"child-{n}") for n in range(5)]
                status = 0 if verdicts[-1] == GuessAdmitted(10**9 - 6, None) else 1
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The child made a connection of its own (the parent's socket is not its to share), and
        # the parent's own still answers in step.
        assert admin.info("stats")["total_connections_received"] - before == 1
        assert ledger.admit_guess(ALICE, limits, "parent-again") == GuessAdmitted(10**9 - 7, None)
    assert admin.info("stats")["total_connections_received"] - before == 1


def test_threads_share_a_ledger_without_losing_a_count(fresh_redis: RedisServer) -> None:
    admin = fresh_redis.admin()
    limits = GuessLimits(10**9, 900, 10**9)
    before = admin.info("stats")["total_connections_received"]
    with RedisLedger.from_url(fresh_redis.url()) as ledger:
        barrier = threading.Barrier(8)

        def guess(name: str) -> None:
            barrier.wait(10)
            for number in range(50):
                ledger.admit_guess(ALICE, limits, f"{name}-{number}")

        threads = [threading.Thread(target=guess, args=(str(n),)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert ledger.status(ALICE).consecutive_failures == 400
    # A connection per thread at most, kept and reused, never one per call.
    assert admin.info("stats")["total_connections_received"] - before <= 8


# -- two hosts -----------------------------------------------------------------------------------


@pytest.fixture
def hosts(fresh_redis: RedisServer, tmp_path: Path) -> list[Path]:
    """Two hosts' configs, each with its own home and state directories, one shared Redis."""
    configs = []
    for name in ("a", "b"):
        home = tmp_path / name
        (home / "state").mkdir(parents=True)
        config = home / "config.toml"
        config.write_text(
            f'[state]\nledger = "{fresh_redis.url()}"\naudit_log = "{home}/state/audit.jsonl"\n'
            "[policy]\nmax_attempts = 3\nmax_sends_per_hour = 3\n"
        )
        configs.append(config)
    return configs


def _host(
    server: RedisServer,
    action: str,
    address: str,
    *extra: str,
    config: Path | None = None,
    offset: float = 0.0,
) -> dict[str, Any]:
    if config is None:
        config = server.directory / "host.toml"
        config.write_text(f'[state]\nledger = "{server.url()}"\n')
    home = config.parent
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_STATE_HOME": str(home / "state"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, str(HERE / "fleet_host.py"), str(config), action, address, *extra]
    if offset:
        command += ["--clock-offset", str(offset)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(config.parent)}
    return subprocess.run(
        [sys.executable, "-m", "otp_tui", "--config", str(config), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_two_hosts_add_up_to_one_lock_and_one_unlock_lifts_it_for_both(
    fresh_redis: RedisServer, hosts: list[Path]
) -> None:
    a, b = hosts
    assert _host(fresh_redis, "wrong", ALICE, "2", config=a)["answers"] == [
        "SendCode",
        "WrongCode",
        "WrongCode",
    ]
    # Host B's first wrong code is the third: the lock, seen by both.
    assert _host(fresh_redis, "wrong", ALICE, "1", config=b)["answers"] == ["SendCode", "Locked"]
    assert _host(fresh_redis, "send", ALICE, config=a)["answers"] == ["Locked"]
    status = _cli(a, "status", ALICE)
    assert status.returncode == 0, status.stderr
    assert "consecutive failures: 3" in status.stdout
    assert "locked until" in status.stdout
    unlocked = _cli(b, "unlock", ALICE)
    assert unlocked.returncode == 0, unlocked.stderr
    assert unlocked.stdout.startswith(f"Unlocked {ALICE}: lifted the lock")
    # Sends add up too: two so far, the third fits, the fourth does not (3 an hour).
    assert _host(fresh_redis, "send", ALICE, config=a)["answers"] == ["SendCode"]
    assert _host(fresh_redis, "send", ALICE, config=b)["answers"] == ["TooManySends"]


# -- fifty processes -----------------------------------------------------------------------------


@pytest.mark.slow
def test_fifty_processes_on_one_address_lose_no_count(
    fresh_redis: RedisServer, processes: Any
) -> None:
    codes = run_all(processes, state_workers.wrong_codes_on, (fresh_redis.url(), [ALICE], 20))
    assert codes == [0] * 50
    with RedisLedger.from_url(fresh_redis.url()) as ledger:
        assert ledger.status(ALICE) == LedgerEntry(0, 1000, 1000, 0.0)


@pytest.mark.slow
def test_fifty_processes_on_fifty_addresses_lose_no_count(
    fresh_redis: RedisServer, processes: Any
) -> None:
    addresses = [f"user{n}@example.com" for n in range(50)]
    codes = run_all(processes, state_workers.wrong_codes_on, (fresh_redis.url(), addresses, 1))
    assert codes == [0] * 50
    with RedisLedger.from_url(fresh_redis.url()) as ledger:
        assert {ledger.status(a).consecutive_failures for a in addresses} == {50}


@pytest.mark.slow
def test_fifty_processes_never_overspend_a_budget(fresh_redis: RedisServer, processes: Any) -> None:
    codes = run_all(processes, state_workers.reserve_send, (fresh_redis.url(), ALICE, 30))
    assert Counter(codes) == {state_workers.RESERVED: 30, state_workers.REFUSED: 20}
    with RedisLedger.from_url(fresh_redis.url()) as ledger:
        assert ledger.status(ALICE).sends_last_hour == 30
        assert budget_sends(ledger, "total") == 30


@pytest.mark.slow
def test_fifty_racing_verifications_never_overshoot_the_lock(
    fresh_redis: RedisServer, processes: Any
) -> None:
    compared = run_all(processes, state_workers.guess_until_locked, (fresh_redis.url(), ALICE))
    assert sum(compared) == 5, compared
    with RedisLedger.from_url(fresh_redis.url()) as ledger:
        assert ledger.status(ALICE).consecutive_failures == 5


# -- failing closed, within the deadline ---------------------------------------------------------


def test_a_wrong_password_is_one_sentence_naming_the_server(fresh_redis: RedisServer) -> None:
    ledger = RedisLedger.from_url(fresh_redis.url(password="not-it"), timeout=1)
    message = refused(ledger, deadline=2)
    assert message == (
        f"The Redis ledger at 127.0.0.1:{fresh_redis.port} refused the user name or password."
    )
    assert "not-it" not in message


def test_a_listener_that_never_answers_fails_within_the_deadline() -> None:
    listener = SilentListener()
    try:
        ledger = RedisLedger.from_url(f"redis://:{PASSWORD}@127.0.0.1:{listener.port}", timeout=0.5)
        message = refused(ledger, deadline=1.5)
    finally:
        listener.close()
    assert message == (
        f"The Redis ledger at 127.0.0.1:{listener.port} did not answer within 0.5 seconds."
    )


def test_nothing_listening_is_one_sentence(closed_port: int) -> None:
    ledger = RedisLedger.from_url(f"redis://127.0.0.1:{closed_port}", timeout=1)
    assert refused(ledger, deadline=2) == (
        f"The Redis ledger at 127.0.0.1:{closed_port} cannot be reached: connection refused."
    )


def test_redis_killed_in_the_middle_of_a_run_fails_closed(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "doomed")
    try:
        ledger = RedisLedger.from_url(server.url(), timeout=1)
        assert ledger.reserve_send(ALICE, SendBudget(5, 60, 10)) == 0
        server.stop()
        message = refused(ledger, deadline=2)
        assert f"127.0.0.1:{server.port}" in message
        with pytest.raises(LedgerError):
            ledger.admit_guess(ALICE, GuessLimits(5, 900, 100), "t")
    finally:
        server.stop()


def test_a_user_without_the_permission_is_told_so(fresh_redis: RedisServer) -> None:
    with fresh_redis.admin() as admin:
        admin.acl_setuser(
            "narrow",
            enabled=True,
            passwords=["+narrow-pw"],
            keys=["otp-tui:*"],
            commands=["+evalsha", "+eval"],
        )
    ledger = RedisLedger.from_url(fresh_redis.url("narrow", "narrow-pw"), timeout=1)
    assert "lacks a permission" in refused(ledger, deadline=2)


# -- TLS -----------------------------------------------------------------------------------------


def test_tls_with_the_ca_file_works_and_without_it_is_refused(
    redis_tls_server: RedisServer, tls_certs: Any
) -> None:
    redis_tls_server.flush()
    url = redis_tls_server.url()
    assert url.startswith("rediss://")
    with open_ledger(settings_for(url, ledger_ca_file=tls_certs.ca_file)) as ledger:
        assert ledger.reserve_send(ALICE, SendBudget(5, 60, 10)) == 0
        assert ledger.status(ALICE).sends_last_hour == 1
    with open_ledger(settings_for(url)) as ledger:  # the system store knows no test CA
        message = refused(ledger, deadline=5)  # type: ignore[arg-type]
    assert message.endswith("cannot be reached: its certificate is not trusted.")


# -- the operator's commands ---------------------------------------------------------------------


def test_check_says_which_ledger_answers(fresh_redis: RedisServer, tmp_path: Path) -> None:
    out = io.StringIO()
    assert check_ledger(settings_for(fresh_redis.url()), out)
    line = out.getvalue()
    assert line.startswith("ledger: Redis 7.")
    assert f"at 127.0.0.1:{fresh_redis.port}" in line
    assert line.rstrip().endswith(": ok")
    out = io.StringIO()
    assert not check_ledger(settings_for(fresh_redis.url(password="nope")), out)
    assert out.getvalue().splitlines() == [
        f"ledger: The Redis ledger at 127.0.0.1:{fresh_redis.port} refused the user name or"
        " password.",
        "Ledger check failed.",
    ]
    out = io.StringIO()
    assert check_ledger(settings_for(str(tmp_path / "l.sqlite3")), out)
    assert out.getvalue() == f"ledger: SQLite file {tmp_path / 'l.sqlite3'} (schema 2): ok\n"


def test_status_and_unlock_on_a_dead_redis_exit_2_with_one_line(
    closed_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\nledger = "redis://127.0.0.1:{closed_port}"\nledger_timeout = 1\n')
    for command in ("status", "unlock"):
        assert main(["--config", str(config), command, ALICE]) == 2
        err = capsys.readouterr().err
        assert err == (
            f"otp-tui: The Redis ledger at 127.0.0.1:{closed_port} cannot be reached:"
            " connection refused.\n"
        )


# -- one deadline per operation, one sentence per fault ------------------------------------------


def test_a_server_dripping_its_answer_fails_within_the_deadline(fresh_redis: RedisServer) -> None:
    # Each byte comes well within the timeout, so only a deadline for the whole call ends it.
    with DrippingProxy(fresh_redis.port, interval=0.4) as proxy:
        ledger = RedisLedger.from_url(
            fresh_redis.url().replace(str(fresh_redis.port), str(proxy.port)), timeout=1.5
        )
        started = time.monotonic()
        message = refused(ledger, deadline=10)
        took = time.monotonic() - started
    assert (
        message == f"The Redis ledger at 127.0.0.1:{proxy.port} did not answer within 1.5 seconds."
    )
    assert 1.5 <= took < 2.5


@pytest.mark.slow
def test_status_through_a_proxy_dripping_a_byte_every_two_seconds_ends_in_time(
    fresh_redis: RedisServer, tmp_path: Path
) -> None:
    with DrippingProxy(fresh_redis.port, interval=2.0) as proxy:
        config = tmp_path / "config.toml"
        url = fresh_redis.url().replace(str(fresh_redis.port), str(proxy.port))
        config.write_text(f'[state]\nledger = "{url}"\nledger_timeout = 3\n')
        config.chmod(0o600)  # it holds the password
        started = time.monotonic()
        done = _cli(config, "status", ALICE)
        took = time.monotonic() - started
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"otp-tui: The Redis ledger at 127.0.0.1:{proxy.port} did not answer within 3 seconds.\n"
    )
    assert PASSWORD not in done.stderr
    # The deadline, plus the interpreter's start (a few seconds at most on a busy machine).
    assert took < 3 + 5, took


NOT_REDIS = {
    "http": b"HTTP/1.1 400 Bad Request\r\n\r\n",
    "ssh": b"SSH-2.0-OpenSSH_9.2\r\n",
    "ok to everything": b"+OK\r\n",
    "a number": b":1\r\n",
    "a list": b"*1\r\n:1\r\n",
    "a map of the wrong version": b"%1\r\n+a\r\n+b\r\n",
}


@pytest.mark.parametrize("reply", NOT_REDIS.values(), ids=NOT_REDIS.keys())
@pytest.mark.parametrize("login", ["", "otp-tui:pw@"])
def test_a_server_that_is_not_redis_is_one_sentence(reply: bytes, login: str) -> None:
    with NotRedis(reply) as listener:
        ledger = RedisLedger.from_url(f"redis://{login}127.0.0.1:{listener.port}/0", timeout=1)
        for operation in (
            lambda: ledger.status(ALICE),
            lambda: ledger.reserve_send(ALICE, SendBudget(5, 60, 10)),
            lambda: ledger.admit_guess(ALICE, GuessLimits(5, 900, 100), "t"),
            lambda: probe(ledger),
        ):
            with pytest.raises(LedgerError) as raised:
                operation()
            assert str(raised.value) == (
                f"The server at 127.0.0.1:{listener.port} does not answer as a Redis server does."
            )


def test_status_against_a_server_that_is_not_redis_exits_2_with_one_line(tmp_path: Path) -> None:
    with NotRedis(b"+OK\r\n") as listener:
        config = tmp_path / "config.toml"
        config.write_text(f'[state]\nledger = "redis://127.0.0.1:{listener.port}"\n')
        done = _cli(config, "status", ALICE)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"otp-tui: The server at 127.0.0.1:{listener.port}"
        " does not answer as a Redis server does.\n"
    )
