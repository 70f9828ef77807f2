"""Running a program the operator configured and taking the first line it prints.

The gate's `address_command` and the SMTP `password_command` / `oauth2_token_command` all work
this way, as sshd's AuthorizedKeysCommand and msmtp's `passwordeval` do: an argv list run
without a shell, with no input, in a process group of its own, against one deadline for the
whole run, its output capped. This module runs it and says what happened; the callers word it.

The answer counts once it is read: when the first line is complete (or the output ended) and
the program has exited, the run is over, even if something it started still holds the pipe (a
password helper that starts an agent, which `setsid`s away and never closes its output). Then
everything the program left behind is ended: its process group is killed, and so is anything
that escaped the group into a session of its own (Linux: the runner is a child subreaper for
the run, so those orphans come back to it and are killed and reaped; nothing is left running).

Blocking on purpose (selectors on the pipes and a pidfd): the gate calls it before any event
loop exists, and the mail code runs it in a worker thread. No asyncio subprocess transport is
involved, so none can outlive its loop.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

# Enough for any address, password or token; a command that prints more is stopped.
OUTPUT_LIMIT = 64 * 1024
_POLL = 0.02  # seconds between exit checks where no pidfd is available
_PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
_REAP_ROUNDS = 20  # an escaped child's own children come back after it dies: a few rounds

Ending = Literal["exited", "not started", "silent", "unfinished", "too much"]


@dataclass(frozen=True, repr=False)
class CommandResult:
    """What the run gave. `ending` says how it ended:

    - "exited": the program exited (`status`, negative for a signal) after answering;
    - "not started": it could not be run (`reason` is the system's);
    - "silent": the deadline passed before a first line;
    - "unfinished": it answered but had not exited at the deadline;
    - "too much": its output passed OUTPUT_LIMIT.

    `first_line` never holds its "\\n" (nor a "\\r" before it). The repr shows no output: it may
    be a secret.
    """

    ending: Ending
    first_line: bytes = b""
    stderr: bytes = b""
    status: int | None = None
    reason: str = ""

    def __repr__(self) -> str:
        return f"CommandResult({self.ending!r}, status={self.status!r})"


_lock = threading.Lock()  # one run at a time: the subreaper bit and the child count are shared


def run_command(
    argv: Sequence[str], *, timeout: float, env: Mapping[str, str] | None = None
) -> CommandResult:
    """Run `argv` (no shell, no stdin) and end it and all it started within `timeout` seconds."""
    with _lock:
        before = _children()
        subreaper = _set_subreaper(True)
        try:
            return _run(argv, timeout, env)
        finally:
            _end_escaped(before)  # still the subreaper: an escapee's own children come back
            if subreaper:
                _set_subreaper(False)


def _run(argv: Sequence[str], timeout: float, env: Mapping[str, str] | None) -> CommandResult:
    deadline = time.monotonic() + timeout
    try:
        process = subprocess.Popen(  # noqa: S603 - the operator's argv, no shell
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            close_fds=True,
            start_new_session=True,
        )
    except OSError as error:
        return CommandResult("not started", reason=error.strerror or str(error))
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        ending, stdout, stderr = _collect(process, deadline)
    finally:
        # The program's group, whatever it left running there; the leader is not reaped yet,
        # so its pid (the group's id) cannot have been reused.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        status = process.wait()
        process.stdout.close()
        process.stderr.close()
    first = stdout.split(b"\n", 1)[0]
    if first.endswith(b"\r"):
        first = first[:-1]
    return CommandResult(ending, first, stderr, status if ending == "exited" else None, reason="")


def _collect(process: subprocess.Popen[bytes], deadline: float) -> tuple[Ending, bytes, bytes]:
    """Read until the program has answered and exited, the output overflows or time is up."""
    assert process.stdout is not None
    assert process.stderr is not None
    out, err = bytearray(), bytearray()
    out_open = True
    exited = False
    with contextlib.ExitStack() as stack:
        selector = stack.enter_context(selectors.DefaultSelector())
        selector.register(process.stdout, selectors.EVENT_READ, out)
        selector.register(process.stderr, selectors.EVENT_READ, err)
        pidfd = _pidfd(process.pid)
        if pidfd is not None:
            stack.callback(os.close, pidfd)
            selector.register(pidfd, selectors.EVENT_READ, None)
        while True:
            exited = exited or _has_exited(process.pid)
            answered = not out_open or b"\n" in out
            if answered and exited:
                return "exited", bytes(out), bytes(err)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return ("unfinished" if answered else "silent"), bytes(out), bytes(err)
            wait = remaining if pidfd is not None else min(remaining, _POLL)
            for key, _events in selector.select(wait):
                if key.data is None:  # the pidfd: the program exited
                    selector.unregister(key.fileobj)
                    exited = True
                    continue
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    if key.data is out:
                        out_open = False
                    continue
                buffer: bytearray = key.data
                buffer += chunk
                if len(buffer) > OUTPUT_LIMIT:
                    if buffer is out:
                        return "too much", bytes(out[:OUTPUT_LIMIT]), bytes(err)
                    del buffer[OUTPUT_LIMIT:]  # stderr is for the debug log: keep the start


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError):  # not Linux, or a kernel before 5.3
        return None


def _has_exited(pid: int) -> bool:
    """Whether `pid` has exited, without reaping it (so its group id stays its own)."""
    try:
        found = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return found is not None


# --- what escaped the group ---------------------------------------------------------------


def _set_subreaper(on: bool) -> bool:
    """Make orphans of the command's descendants come back to this process (Linux only)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _children() -> set[int]:
    """The pids whose parent is this process, from /proc (empty where there is none)."""
    me = os.getpid()
    found: set[int] = set()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and int(fields[1]) == me:
            found.add(int(entry))
    return found


def _end_escaped(before: set[int]) -> None:
    """Kill and reap the children that appeared during the run: what the command left behind.

    Bounded: a process stuck in the kernel (an NFS hang) cannot take SIGKILL at once, and the
    run does not wait on it for more than about a second.
    """
    deadline = time.monotonic() + 1.0
    for _round in range(_REAP_ROUNDS):
        left = _children() - before
        if not left:
            return
        for pid in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        while left and time.monotonic() < deadline:
            for pid in list(left):
                try:
                    done, _status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    done = pid
                if done:
                    left.discard(pid)
            if left:
                time.sleep(0.005)
        if left:
            return
