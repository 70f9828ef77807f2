"""Helpers for the state tests: a fake wall clock and a child process that file modes apply to.

The permission tests need a user that file modes actually stop. CI and the dev container run as
root, which ignores them, so those tests run their body in a forked child that drops to
`nobody` first (and simply forks when already unprivileged).
"""

from __future__ import annotations

import json
import os
import pwd
from collections.abc import Callable
from typing import Any

from fakes import FakeClock

START = 1_700_000_000.0  # a plausible wall-clock reading, far from zero

__all__ = ["START", "FakeClock", "run_all", "run_unprivileged"]


def run_unprivileged(body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run `body` in a forked child as a user that file permissions apply to; return its dict.

    A failure in the child comes back as an AssertionError carrying the child's exception.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, reported through the pipe
        status = 1
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                nobody = _nobody()
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            answer: dict[str, Any] = {"ok": body()}
            status = 0
        except BaseException as error:
            answer = {"error": f"{type(error).__name__}: {error}"}
        finally:
            try:
                os.write(write_end, json.dumps(answer).encode())
            finally:
                os._exit(status)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    answer = json.loads(b"".join(chunks) or b'{"error": "the child said nothing"}')
    if "error" in answer:
        raise AssertionError(f"in the unprivileged child: {answer['error']}")
    return answer["ok"]  # type: ignore[no-any-return]


def _nobody() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("nobody")
    except KeyError:  # pragma: no cover - every Linux has nobody, but be explicit
        return pwd.struct_passwd(("nobody", "x", 65534, 65534, "", "/", "/bin/false"))


def run_all(context: Any, target: Any, args: tuple[Any, ...], count: int = 50) -> list[int]:
    """Start `count` copies of `target` that meet at a barrier; their exit codes."""
    barrier = context.Barrier(count, timeout=60)
    workers = [context.Process(target=target, args=(*args, barrier)) for _ in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    for worker in workers:
        if worker.is_alive():  # pragma: no cover - only on a hang
            worker.kill()
    return [worker.exitcode for worker in workers]
