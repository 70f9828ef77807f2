"""The gate behind a real sshd and sudo is bounded: a huge terminal cannot grow the service
user's process, and a session that nobody finishes ends by itself (`[gate] session_timeout`).

The host is set up by the README's own script (`gate_host.GateHost`), as in test_gate_sshd.py.
"""

from __future__ import annotations

import pwd
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gate_host import GateHost
from pty_harness import Terminal, rss_kib

from otp_tui.gate.memory_ceiling import CEILING

MARKER = "GATE-OPEN"
OPEN = "printf '%s-%s\\n' GATE OPEN"
# The gate's process at the code screen takes about 55 MiB (measured below at 80x24 each run).
BUDGET_KIB = 100 * 1024

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def host(tls_certs: Any) -> Iterator[GateHost]:
    gate = GateHost.create(tls_certs)
    try:
        yield gate
    finally:
        gate.close()


@pytest.fixture
def login(host: GateHost, terminal: Callable[..., Terminal]) -> Callable[..., Terminal]:
    def start(user: str, *, size: tuple[int, int] = (80, 24)) -> Terminal:
        return terminal(OPEN, argv=host.ssh_argv(user, "-tt"), size=size)

    return start


def service_processes(host: GateHost) -> list[int]:
    """Every process the gate's service user runs (by real uid: the gate's /proc files are
    root's once it makes itself undumpable)."""
    uid = pwd.getpwnam(host.names["SERVICE_USER"]).pw_uid
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            uids = next(line for line in status.splitlines() if line.startswith("Uid:"))
            if int(uids.split()[1]) == uid:
                found.append(int(entry.name))
    return found


def service_rss_kib(host: GateHost) -> int:
    """The resident memory of every process the gate's service user runs, in KiB."""
    return sum(rss_kib(pid) for pid in service_processes(host))


def data_limit(pid: int) -> str:
    """The process's RLIMIT_DATA as /proc shows it: soft and hard, in bytes."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max data size"):
            return " ".join(line.split()[3:5])
    raise AssertionError("no data size limit line")


def to_code_screen_watching_memory(session: Terminal, host: GateHost) -> int:
    """Wait for the code screen (30 s at most), sampling the service user's memory every
    50 ms; returns the largest figure, and fails at once past the budget."""
    deadline = time.monotonic() + 30
    peak = 0
    while "Enter the code" not in session.text:
        assert time.monotonic() < deadline, "no code screen within 30 s"
        peak = max(peak, service_rss_kib(host))
        if peak > BUDGET_KIB:
            session.kill()
            raise AssertionError(f"the gate's memory reached {peak} KiB")
        session._pump(0.05)
        session.drain()
    return max(peak, service_rss_kib(host))


def test_a_huge_terminal_through_sshd_keeps_the_gate_small_and_ctrl_q_answers(
    host: GateHost, login: Callable[..., Terminal]
) -> None:
    figures = {}
    for size in [(80, 24), (30000, 30000)]:
        session = login(host.alice, size=size)
        peak = to_code_screen_watching_memory(session, host)
        # A while on the code screen as well: the layout is done, nothing grows.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            peak = max(peak, service_rss_kib(host))
            assert peak <= BUDGET_KIB, f"the gate's memory reached {peak} KiB"
            session._pump(0.05)
            session.drain()
        figures[size] = peak
        # The memory ceiling is set on the gate's process as a second line.
        assert [data_limit(pid) for pid in service_processes(host)] == [f"{CEILING} {CEILING}"]
        session.send("\x11")  # ctrl+q answers
        assert session.wait(timeout=15) == 1
        assert MARKER not in session.text
        assert host.audit_lines()[-1]["event"] == "cancelled"
    print(f"the gate's peak RSS through sshd and sudo: {figures}")


def test_a_session_nobody_finishes_ends_by_itself(
    host: GateHost, login: Callable[..., Terminal]
) -> None:
    config = host.paths["ETC"] / "config.toml"
    original = config.read_text()
    config.write_text(original + "session_timeout = 4\n")  # [gate] is the file's last table
    try:
        started = time.monotonic()
        session = login(host.alice)
        session.expect("Enter the code", timeout=30)
        status = session.wait(timeout=30)  # nothing typed
        took = time.monotonic() - started
    finally:
        config.write_text(original)
    print(f"a 4 s session_timeout ended the gate session {took:.1f} s after the login began")
    assert status == 1
    assert MARKER not in session.text
    line = host.audit_lines()[-1]
    assert (line["event"], line["reason"], line["user"]) == ("interrupted", "timeout", host.alice)
    assert 4 <= took < 15
