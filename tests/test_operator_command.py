"""Running the operator's command: first line, one deadline, capped output, nothing left alive.

Real programs (small shell scripts) run as child processes; `setsid` is util-linux's.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from otp_tui.operator_command import OUTPUT_LIMIT, run_command


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "helper"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return [str(path)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 5
    while _alive(pid):
        assert time.monotonic() < deadline, f"process {pid} was left running"
        time.sleep(0.01)


def test_the_first_line_without_a_shell(tmp_path: Path) -> None:
    argv = [*_script(tmp_path, 'printf "%s\\r\\nsecond\\n" "$1"'), "a b; echo owned"]
    result = run_command(argv, timeout=5)
    assert (result.ending, result.status) == ("exited", 0)
    assert result.first_line == b"a b; echo owned"  # one argument, never split or run


def test_a_helper_that_leaves_a_setsid_child_answers_at_once_and_the_child_is_ended(
    tmp_path: Path,
) -> None:
    # A password helper that starts an agent: the agent leaves the helper's session and keeps
    # the output pipe open for ever. The password counts once read and the helper has exited.
    marker = tmp_path / "agent-pid"
    argv = _script(
        tmp_path,
        f"echo the-password; setsid sh -c 'echo $$ > {marker}; exec sleep 300' &\nsleep 0.2",
    )
    started = time.monotonic()
    result = run_command(argv, timeout=10)
    assert time.monotonic() - started < 5, "the answer was read but the run waited on"
    assert (result.ending, result.status, result.first_line) == ("exited", 0, b"the-password")
    _wait_gone(int(marker.read_text()))


def test_what_an_escaped_child_starts_is_ended_too(tmp_path: Path) -> None:
    marker = tmp_path / "grandchild-pid"
    inner = f"sleep 300 & echo $! > {marker}; wait"
    argv = _script(tmp_path, f"echo pw; setsid sh -c '{inner}' >/dev/null 2>&1 &\nsleep 0.3")
    result = run_command(argv, timeout=10)
    assert result.first_line == b"pw"
    _wait_gone(int(marker.read_text()))


def test_a_silent_command_is_ended_at_the_deadline_with_its_group(tmp_path: Path) -> None:
    marker = tmp_path / "child-pid"
    argv = _script(tmp_path, f"sleep 300 & echo $! > {marker}; wait")
    started = time.monotonic()
    result = run_command(argv, timeout=0.3)
    assert time.monotonic() - started < 3
    assert (result.ending, result.status) == ("silent", None)
    _wait_gone(int(marker.read_text()))


def test_an_answer_without_an_exit_is_unfinished(tmp_path: Path) -> None:
    argv = _script(tmp_path, "echo answer; exec sleep 300")
    result = run_command(argv, timeout=0.3)
    assert result.ending == "unfinished"


def test_output_is_capped(tmp_path: Path) -> None:
    argv = _script(tmp_path, "exec cat /dev/zero")
    started = time.monotonic()
    result = run_command(argv, timeout=10)
    assert time.monotonic() - started < 5
    assert result.ending == "too much"
    assert len(result.first_line) <= OUTPUT_LIMIT


def test_exit_status_and_signals(tmp_path: Path) -> None:
    assert run_command(_script(tmp_path, "echo x; exit 3"), timeout=5).status == 3
    assert run_command(_script(tmp_path, "kill -9 $$"), timeout=5).status == -9


def test_a_program_that_cannot_start_says_why(tmp_path: Path) -> None:
    result = run_command([str(tmp_path / "absent")], timeout=5)
    assert result.ending == "not started"
    assert "No such file" in result.reason


def test_the_repr_never_shows_the_output(tmp_path: Path) -> None:
    result = run_command(_script(tmp_path, "echo hunter2"), timeout=5)
    assert "hunter2" not in repr(result)


def test_other_children_of_the_caller_are_left_alone(tmp_path: Path) -> None:
    mine = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        run_command(_script(tmp_path, "echo x; setsid sleep 300 >/dev/null &"), timeout=5)
        assert _alive(mine.pid)
    finally:
        mine.kill()
        mine.wait()
