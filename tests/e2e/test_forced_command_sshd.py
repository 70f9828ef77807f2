"""otp-tui as an SSH gate: a real sshd on loopback, a ForceCommand wrapper, `ssh -tt` by keys.

The wrapper is the README's "Use as a gate" recipe with the test's own paths: it runs
`otp-tui --demo --email ADDRESS` (demo mode) and runs the command behind the gate only on exit
status 0. That command prints a marker the wrapper's text never contains in one piece, so the
marker on screen means the gate opened.

Skipped only when the OpenSSH binaries are missing, and never in CI (CI=true), where
`.ci/run` installs openssh-server and openssh-client: there a missing binary is a failure.
"""

from __future__ import annotations

import getpass
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pty_harness import OtpHome, Terminal, process_alive

ADDRESS = "carol@example.com"
MARKER = "GATE-OPEN"  # printed as two words joined by printf: see the wrapper

SSHD = shutil.which("sshd") or shutil.which("sshd", path="/usr/sbin:/usr/local/sbin:/sbin")
SSH = shutil.which("ssh")
SSH_KEYGEN = shutil.which("ssh-keygen")


def _require_openssh() -> None:
    missing = [
        name
        for name, path in [("sshd", SSHD), ("ssh", SSH), ("ssh-keygen", SSH_KEYGEN)]
        if path is None
    ]
    if not missing:
        return
    reason = (
        f"OpenSSH not installed ({', '.join(missing)} missing): apt-get install "
        "openssh-server openssh-client"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; .ci/run must install them")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


WRAPPER = """#!/bin/sh
# ForceCommand wrapper: the gate. Only exit status 0 from otp-tui opens it.
export HOME={home} XDG_CONFIG_HOME={home}/config XDG_STATE_HOME={home}/state
export XDG_DATA_HOME={home}/data XDG_CACHE_HOME={home}/cache TEXTUAL_ANIMATIONS=none
export OTP_TUI_POLICY__MAX_ATTEMPTS=2
{otp_tui} --demo --email {address} || exit $?
exec /bin/sh -c 'printf "%s-%s\\n" GATE OPEN'
"""


@dataclass(frozen=True)
class Sshd:
    port: int
    client_key: Path
    known_hosts: Path
    log: Path

    def ssh_argv(self, *options: str) -> list[str]:
        assert SSH is not None
        return [
            SSH,
            "-F", "/dev/null",
            "-p", str(self.port),
            "-i", str(self.client_key),
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no",
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "LogLevel=ERROR",
            *options,
            f"{getpass.getuser()}@127.0.0.1",
        ]  # fmt: skip


@pytest.fixture
def sshd(tmp_path: Path, otp_home: OtpHome) -> Iterator[Sshd]:
    _require_openssh()
    assert SSHD is not None
    assert SSH_KEYGEN is not None
    etc = tmp_path / "sshd"
    etc.mkdir()
    for name in ("host_key", "client_key"):
        subprocess.run(
            [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(etc / name)],
            check=True,
            timeout=30,
        )
    authorized = etc / "authorized_keys"
    authorized.write_text((etc / "client_key.pub").read_text())
    authorized.chmod(0o600)
    wrapper = etc / "gate"
    wrapper.write_text(
        WRAPPER.format(
            home=shlex.quote(str(otp_home.root)),
            otp_tui=f"{shlex.quote(sys.executable)} -m otp_tui",
            address=shlex.quote(ADDRESS),
        )
    )
    wrapper.chmod(0o755)
    port = _free_port()
    config = etc / "sshd_config"
    config.write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {etc / "host_key"}
PidFile none
AuthorizedKeysFile {authorized}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
DisableForwarding yes
PermitUserRC no
PermitTTY yes
ForceCommand {wrapper}
LogLevel VERBOSE
"""
    )
    if os.geteuid() == 0:  # the privilege-separation directory sshd insists on as root
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
    log = etc / "sshd.log"
    # -D: stay in the foreground (a child we can kill); -e: log to stderr (the log file).
    with open(log, "wb") as log_file:
        server = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 10
        while True:
            if server.poll() is not None:
                pytest.fail(f"sshd exited with {server.returncode}:\n{log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"sshd never listened on {port}:\n{log.read_text()}")
                time.sleep(0.05)
        yield Sshd(port, etc / "client_key", etc / "known_hosts", log)
    finally:
        # Each connection's sshd child has a session of its own and ends when its client does;
        # the clients belong to the `terminal` fixture, torn down before this one. The listener
        # ends here.
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def test_the_gate_opens_only_after_a_verification_over_ssh(
    sshd: Sshd, terminal: Callable[..., Terminal], otp_home: OtpHome
) -> None:
    session = terminal(argv=sshd.ssh_argv("-tt"))
    session.expect("Enter the code", timeout=15)
    session.type(otp_home.read_code())
    session.expect("Verified")
    session.send("\x11")  # ctrl+q: leaves the result at once
    session.expect(MARKER)
    assert session.wait() == 0
    line = otp_home.audit_lines()[-1]
    assert (line["event"], line["address"]) == ("verified", ADDRESS)
    assert line["ssh_client"] == "127.0.0.1"  # the audit trail knows where it came from

    # Wrong codes until locked: the wrapper never reaches the command behind the gate.
    session = terminal(argv=sshd.ssh_argv("-tt"))
    session.expect("Enter the code", timeout=15)
    wrong = "".join(str((int(digit) + 1) % 10) for digit in otp_home.read_code())
    session.type(wrong)
    session.expect("Wrong code: 1 attempt left")
    session.type(wrong)
    session.expect("Locked")
    session.send("\x11")  # ctrl+q: leaves the result at once
    assert session.wait() == 1
    assert MARKER not in session.text


def test_a_dropped_connection_ends_otp_tui_on_the_server(
    sshd: Sshd, terminal: Callable[..., Terminal], otp_home: OtpHome
) -> None:
    session = terminal(argv=sshd.ssh_argv("-tt"))
    session.expect("Enter the code", timeout=15)
    session.kill()  # the client dies: sshd sees the connection go and hangs up the terminal

    deadline = time.monotonic() + 10
    while not any(line.get("reason") == "hangup" for line in otp_home.audit_lines()):
        assert time.monotonic() < deadline, f"no hangup audit line: {otp_home.audit_lines()}"
        time.sleep(0.05)
    pid = otp_home.audit_lines()[-1]["pid"]
    assert isinstance(pid, int)
    while process_alive(pid):
        assert time.monotonic() < deadline, "otp-tui outlived its connection"
        time.sleep(0.05)
    assert MARKER not in session.text


def test_without_ssh_t_the_gate_says_why_and_stays_shut(sshd: Sshd, otp_home: OtpHome) -> None:
    # `ssh host` with no terminal requested (stdin not a terminal either): no pty on the far
    # side, so otp-tui refuses with its one line and exit status 2.
    run = subprocess.run(
        sshd.ssh_argv("-T"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert "otp-tui needs an interactive terminal; try ssh -t" in run.stderr
    assert MARKER not in run.stdout + run.stderr
    assert otp_home.audit_lines() == []
