"""A real rsyslogd of the test's own: its own config, its own unix socket, its own output file.

`start_rsyslogd(folder)` starts `rsyslogd -n` listening on ``folder/log.sock`` (mode 0666, so a
process running as another user can log to it too) and writing every message to
``folder/messages`` as ``FACILITY SEVERITY TAG MSG``. The system's syslog is never touched.

Missing rsyslogd skips the test, except in CI (CI=true), where `.ci/run` installs it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

RSYSLOGD = shutil.which("rsyslogd") or shutil.which("rsyslogd", path="/usr/sbin:/sbin")

CONFIG = """global(workDirectory="{folder}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{socket}")
template(name="line" type="string"
         string="%syslogfacility-text% %syslogseverity-text% %syslogtag% %msg:2:$%\\n")
*.* action(type="omfile" file="{messages}" template="line")
"""


@dataclass
class Rsyslogd:
    socket: Path
    messages: Path
    process: subprocess.Popen[bytes]

    def lines(self) -> list[str]:
        if not self.messages.exists():
            return []
        return self.messages.read_text(encoding="utf-8", errors="replace").splitlines()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[str]:
        """The first `count` messages, once rsyslogd has written them (bounded wait)."""
        deadline = time.monotonic() + timeout
        while len(self.lines()) < count:
            assert time.monotonic() < deadline, f"rsyslogd wrote {self.lines()!r}"
            time.sleep(0.02)
        return self.lines()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)


def start_rsyslogd(folder: Path) -> Rsyslogd:
    if RSYSLOGD is None:
        if os.environ.get("CI") == "true":
            pytest.fail("rsyslogd is not installed; .ci/run must install rsyslog")
        pytest.skip("rsyslogd is not installed: apt-get install rsyslog")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    socket_path, messages = folder / "log.sock", folder / "messages"
    config = folder / "rsyslog.conf"
    config.write_text(CONFIG.format(folder=folder, socket=socket_path, messages=messages))
    process = subprocess.Popen(
        [RSYSLOGD, "-n", "-iNONE", "-f", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while not socket_path.is_socket():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"rsyslogd never made {socket_path} (exit {process.poll()})")
        time.sleep(0.02)
    socket_path.chmod(0o666)
    return Rsyslogd(socket_path, messages, process)
