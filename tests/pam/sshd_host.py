"""sshd on 127.0.0.1 with the README's PAM recipe: the key first, then the code through PAM.

`PamSshd.start(host)` runs the real sshd with a config of its own that includes the recipe's
sshd snippet. sshd names its PAM service after the program's name, so it is started through a
symlink named like the host's test PAM service: the module is then asked by that service alone
and the machine's /etc/pam.d/sshd is never touched.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e.gate_host import SSH, SSH_KEYGEN, SSHD, free_port
from pam_host import PamHost
from relay_host import with_private_syslog


def _run(*argv: str) -> None:
    subprocess.run(list(argv), check=True, timeout=60, capture_output=True)


@dataclass
class PamSshd:
    host: PamHost
    port: int
    client_key: Path
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, host: PamHost) -> PamSshd:
        assert SSHD is not None
        assert SSH_KEYGEN is not None
        folder = host.root / "sshd"
        client_key = host.root / "client_key"
        for key in (folder / "host_key", client_key):
            _run(SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(key))
        keys = host.root / "keys"
        keys.mkdir(mode=0o755, exist_ok=True)
        for user in (host.alice,):
            (keys / user).write_text((host.root / "client_key.pub").read_text())
            (keys / user).chmod(0o644)
        port = free_port()
        config = folder / "sshd_config"
        config.write_text(
            f"""Port {port}
ListenAddress 127.0.0.1
HostKey {folder / "host_key"}
PidFile none
AuthorizedKeysFile {keys}/%u
PubkeyAuthentication yes
PasswordAuthentication no
PermitRootLogin no
StrictModes no
AcceptEnv *
Subsystem sftp internal-sftp
LogLevel VERBOSE
Include {host.paths["SSHD_SNIPPET"]}
"""
        )
        # The PAM service is the program's name: a symlink named after the test's service.
        program = folder / host.service
        program.symlink_to(SSHD)
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
        log = folder / "sshd.log"
        with open(log, "wb") as log_file:
            process = subprocess.Popen(
                # Its own /dev/log: the module's and the helper's lines reach the test's syslog.
                with_private_syslog(
                    folder, host.syslog.socket, [str(program), "-D", "-e", "-f", str(config)]
                ),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                pytest.fail(f"sshd exited with {process.returncode}:\n{log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"sshd never listened:\n{log.read_text()}"
                time.sleep(0.05)
        return cls(host, port, client_key, process, log)

    def options(self, *extra: str) -> list[str]:
        """The client options that reach this sshd with the test's key (for ssh, scp, sftp)."""
        return [
            "-F", "/dev/null",
            "-i", str(self.client_key),
            "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=no",
            "-o", f"UserKnownHostsFile={self.host.root / 'known_hosts'}",
            "-o", "PreferredAuthentications=publickey,keyboard-interactive",
            "-o", "LogLevel=ERROR",
            *extra,
        ]  # fmt: skip

    def ssh(self, *args: str, options: tuple[str, ...] = ()) -> list[str]:
        assert SSH is not None
        return [SSH, *self.options(*options), "-p", str(self.port),
                f"{self.host.alice}@127.0.0.1", *args]  # fmt: skip

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
