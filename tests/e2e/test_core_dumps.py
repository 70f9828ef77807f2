"""A crash with a live code in memory leaves no core file, whatever `ulimit -c` says.

The real `otp-tui` runs in a real pseudo-terminal from a shell that first ran
`ulimit -c unlimited`, gets to the code screen (a live code and its key in memory), and is sent
SIGQUIT or SIGABRT, both of which dump core by default. The kernel's own answer is read from
the wait status (its "core dumped" bit is set wherever `core_pattern` sends a dump, a file or a
pipe to systemd-coredump or apport), and the working directory is checked for a file as well.
A plain interpreter under the same shell must dump first: a machine that writes no cores at
all cannot tell the two apart, and the test then says so and skips.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pty_harness import Terminal

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# bash raises the limit, moves to the directory a core file would land in, then becomes $0.
UNLIMITED_CORES = 'ulimit -c unlimited && cd "$1" && shift && exec "$0" "$@"'


def wait_status(pid: int) -> int:
    # The raw status, not Popen's return code: only it carries the "core dumped" bit.
    _, status = os.waitpid(pid, 0)
    return status


def core_pattern() -> str:
    try:
        return Path("/proc/sys/kernel/core_pattern").read_text().strip()
    except OSError:
        return "unknown"


@pytest.fixture(scope="module")
def cores_are_written(tmp_path_factory: pytest.TempPathFactory) -> None:
    where = tmp_path_factory.mktemp("plain-core")
    crash = "import os, signal; os.kill(os.getpid(), signal.SIGQUIT)"
    plain = subprocess.Popen(["bash", "-c", UNLIMITED_CORES, sys.executable, where, "-c", crash])
    if not os.WCOREDUMP(wait_status(plain.pid)):
        pytest.skip(f"this machine writes no core dumps (core_pattern {core_pattern()!r})")
    for leftover in where.iterdir():
        leftover.unlink()


@pytest.mark.usefixtures("cores_are_written")
@pytest.mark.parametrize("crash", [signal.SIGQUIT, signal.SIGABRT], ids=["SIGQUIT", "SIGABRT"])
def test_a_crash_at_the_code_screen_dumps_no_core(
    terminal: Callable[..., Terminal], tmp_path: Path, crash: signal.Signals
) -> None:
    where = tmp_path / "cwd"
    where.mkdir()
    term = terminal(
        "-m", "otp_tui", argv=("bash", "-c", UNLIMITED_CORES, sys.executable, str(where))
    )
    term.expect("Verify your email address")
    term.type("alice@example.com")
    term.send("\r")
    term.expect("Enter the code")

    limits = Path(f"/proc/{term.pid}/limits").read_text().splitlines()
    core_line = next(line for line in limits if line.startswith("Max core file size"))
    os.kill(term.pid, crash)
    status = wait_status(term.pid)

    assert os.WIFSIGNALED(status)
    assert os.WTERMSIG(status) == crash
    assert not os.WCOREDUMP(status), "the kernel dumped core"
    assert list(where.iterdir()) == []
    assert core_line.split()[4:6] == ["0", "0"], core_line  # soft and hard
