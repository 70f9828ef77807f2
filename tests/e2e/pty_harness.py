"""Runs the real `otp-tui` in a real pseudo-terminal and reads what it draws.

`Terminal` starts a program as the leader of a new session whose controlling terminal is a
fresh pseudo-terminal (stdin and stderr on it, as a login shell has them; stdout on it too
unless ``stdout_file`` is given, as in ``otp-tui --json > result.json``). It strips the escape
sequences from what the program draws and lets a test wait for words on the screen with a
bounded deadline; it never sleeps to let time pass.

`OtpHome` is a temporary HOME with XDG directories inside it, the environment that points the
program at them, and readers for what the program leaves there (audit lines, demo mail).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from otp_tui.mail.message import plain_text_part
from otp_tui.mail.outbox import newest_message

# CSI (with private markers and intermediates), OSC (ended by BEL or ST), then two-byte escapes.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[P_^][^\x1b]*\x1b\\"
    r"|\x1b[@-Z\\-_]"
)
# The code line of the built-in mail, in each language shipped.
_CODE_LINE = re.compile(
    r"(?:Your verification code for .+ is|Ihr Bestätigungscode für .+ lautet):\s*(\d+)"
)

DEFAULT_TIMEOUT = 10.0


def strip_escapes(text: str) -> str:
    return _ESCAPES.sub("", text)


@dataclass(frozen=True)
class OtpHome:
    root: Path
    env: dict[str, str]

    @property
    def state(self) -> Path:
        return self.root / "state" / "otp-tui"

    @property
    def audit_path(self) -> Path:
        return self.state / "audit.jsonl"

    def audit_lines(self) -> list[dict[str, object]]:
        if not self.audit_path.exists():
            return []
        return [json.loads(line) for line in self.audit_path.read_text().splitlines()]

    @classmethod
    def create(cls, root: Path) -> OtpHome:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("OTP_TUI_", "XDG_", "TEXTUAL", "SSH_"))
        }
        # The terminal's own size must count, and the tests read English unless they ask.
        for name in ("NO_COLOR", "COLUMNS", "LINES", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
            env.pop(name, None)
        env.update(
            HOME=str(root),
            XDG_CONFIG_HOME=str(root / "config"),
            XDG_STATE_HOME=str(root / "state"),
            XDG_DATA_HOME=str(root / "data"),
            XDG_CACHE_HOME=str(root / "cache"),
            TERM="xterm-256color",
            LANG="C.UTF-8",
            TEXTUAL_ANIMATIONS="none",
            PYTHONUNBUFFERED="1",
        )
        root.mkdir(parents=True, exist_ok=True)
        return cls(root, env)

    def read_code(self) -> str:
        """The code in the newest demo-outbox message, read as a user reads their mail."""
        message = newest_message(self.state / "outbox")
        assert message is not None, "the demo outbox holds no message"
        found = _CODE_LINE.search(plain_text_part(message))
        assert found is not None, "the message has no code line"
        return found.group(1)


def _take_terminal() -> None:  # pragma: no cover - runs in the child between fork and exec
    # The child is the leader of a new session (start_new_session); the terminal on stdin
    # becomes its controlling terminal, so closing the other end hangs it up as sshd would.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """One program on one pseudo-terminal: what it drew so far, its keys, its end.

    ``controlling=False`` leaves the program in a session without a controlling terminal, so
    closing our end hangs the terminal up without the kernel sending it SIGHUP.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        size: tuple[int, int] = (80, 24),
        stdout_file: Path | None = None,
        controlling: bool = True,
    ) -> None:
        master, slave = os.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.stdout_file = stdout_file
        stdout_target = open(stdout_file, "wb") if stdout_file is not None else slave  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                list(argv),
                stdin=slave,
                stdout=stdout_target,
                stderr=slave,
                env=env,
                start_new_session=True,
                preexec_fn=_take_terminal
                if controlling
                else None,  # the only way to a controlling terminal here
                close_fds=True,
            )
        finally:
            os.close(slave)
            if stdout_file is not None and not isinstance(stdout_target, int):
                stdout_target.close()
        self.master: int | None = master
        self.raw = b""
        self._mark = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    # What the program drew
    @property
    def text(self) -> str:
        return strip_escapes(self.raw.decode("utf-8", "replace"))

    def _pump(self, timeout: float) -> bool:
        """Read what is waiting (up to `timeout`); False once the terminal has no writer."""
        if self.master is None:
            return False
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError as error:
            if error.errno == errno.EIO:  # every process on the other side has gone
                return False
            raise
        if not data:
            return False
        self.raw += data
        return True

    def expect(self, pattern: str, timeout: float = DEFAULT_TIMEOUT) -> re.Match[str]:
        """Wait until `pattern` (a regex) shows in output drawn since the last match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            found = regex.search(self.text, self._mark)
            if found is not None:
                self._mark = found.end()
                return found
            remaining = deadline - time.monotonic()
            ended = False
            if remaining > 0 and not self._pump(min(remaining, 0.1)):
                ended = self.exited()
                time.sleep(0.02)  # the terminal has no writer: nothing more will come
            if remaining <= 0 or ended:
                tail = self.text[self._mark :][-1500:]
                raise AssertionError(
                    f"never saw /{pattern}/ within {timeout}s "
                    f"(exit status {self.process.poll()}); the screen since the last match:\n"
                    f"{tail}"
                )

    def resize(self, cols: int, rows: int) -> None:
        """Tell the terminal it has a new size: the kernel sends the program SIGWINCH."""
        assert self.master is not None
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def rss_kib(self) -> int:
        """The program's resident memory now, in KiB (Linux /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS line")

    def tree_rss_kib(self) -> int:
        """The resident memory of the program and everything in its session now, in KiB."""
        return sum(rss_kib(pid) for pid in session_members(self.pid))

    def peak_rss_kib(self, seconds: float, budget_kib: int) -> int:
        """The largest `tree_rss_kib` seen over `seconds` of reading what the program draws,
        sampled every 50 ms. Stops at once, and fails, if it passes `budget_kib`: a program
        that grows without bound is not left to take the machine's memory first."""
        deadline = time.monotonic() + seconds
        peak = 0
        while time.monotonic() < deadline:
            peak = max(peak, self.tree_rss_kib())
            if peak > budget_kib:
                self.kill()
                raise AssertionError(f"memory of the process tree reached {peak} KiB")
            if self._pump(0.05):
                self.drain()
        return peak

    def drain(self) -> None:
        """Read everything the program has written so far, without waiting for more."""
        while True:
            before = len(self.raw)
            if not self._pump(0) or len(self.raw) == before:
                return

    def send(self, data: str | bytes) -> None:
        assert self.master is not None
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def type(self, text: str) -> None:
        # One key at a time, as a person types: a burst would read as a paste.
        for char in text:
            self.send(char)

    # The end
    def exited(self) -> bool:
        return self.process.poll() is not None

    def wait(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        """The exit status, shell style (128 + N for death by signal N), within `timeout`."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"otp-tui still running {timeout}s later")
            if not self._pump(min(remaining, 0.05)):
                time.sleep(0.02)  # nothing to read any more: poll the process instead
        while self._pump(0):  # what it wrote last (the restored terminal, a --json line)
            pass
        status = self.process.returncode
        return 128 - status if status < 0 else status

    def close_terminal(self) -> None:
        """Close our end of the terminal: for the program, the connection has dropped."""
        if self.master is not None:
            os.close(self.master)
            self.master = None

    def json_line(self) -> dict[str, object]:
        """The one --json object the run printed (from stdout_file, else from the screen)."""
        source = self.stdout_file.read_text() if self.stdout_file is not None else self.text
        lines = [line for line in source.splitlines() if line.strip().startswith("{")]
        assert len(lines) == 1, f"expected one JSON line, got {lines!r}"
        value = json.loads(lines[0].strip()[lines[0].strip().index("{") :])
        assert isinstance(value, dict)
        return value

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self.close_terminal()


def rss_kib(pid: int) -> int:
    """The resident memory of `pid`, in KiB; 0 once it has gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0  # a zombie has no memory left


def process_alive(pid: int) -> bool:
    """True if `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def session_members(sid: int) -> list[int]:
    """Live processes in session `sid` (the program and anything it started)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # After ")": state, ppid, pgrp, session, ...
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


OTP_TUI = (sys.executable, "-m", "otp_tui")
