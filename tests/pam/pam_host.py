"""A host set up by the README's PAM recipe, for real: the module, the helper, a relay.

`PamHost.create(certs, ...)` writes a PAM service file of its own under /etc/pam.d (random
name), runs the README's `pam-setup` script on it (extracted word for word, with this test's
paths and names substituted, so the README cannot drift from what is tested), adds a user with
an address on file, fills in the operator's files, and starts an aiosmtpd relay with STARTTLS
and AUTH on 127.0.0.1 and a private rsyslogd. In the recipe's server mode (its default), the
helper service is started as systemd would: the unit's `ExecStart=` line, run as its `User=`
(there is no systemd here). `close()` stops it and removes everything it made.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e.gate_host import (
    README,
    RELAY_PASSWORD,
    RELAY_USER,
    Relay,
    shared_python,
    start_relay,
    substitute,
)
from relay_host import ROOT, require, require_root_and_tools, with_private_syslog

SETPRIV = shutil.which("setpriv") or shutil.which("setpriv", path="/usr/bin:/bin")


def recipe_default(name: str) -> str:
    """The value the README's script gives `name` in its first lines."""
    found = re.search(rf"^{name}=(\S+)", pam_setup_script(), re.M)
    assert found is not None, f"the README's PAM script does not set {name}"
    return found.group(1)


def pam_setup_script() -> str:
    """The README's PAM setup script, word for word."""
    text = README.read_text(encoding="utf-8")
    marker = text.index("<!-- pam-setup:")
    found = re.compile(r"```sh\n(.*?)```", re.S).search(text, marker)
    assert found is not None, "the README has no script after its pam-setup marker"
    return found.group(1)


# The service file the recipe edits: a stand-in for /etc/pam.d/sshd (no password step of its
# own once CODE_ONLY=yes has commented it out) or /etc/pam.d/sudo (the password first).
BASE_SERVICE = """# otp-tui's PAM tests: removed when they end
@include common-auth
account  required pam_permit.so
session  required pam_permit.so
"""


@dataclass
class PamHost:
    root: Path
    names: dict[str, str]
    paths: dict[str, Path]
    relay: Relay | None = None
    syslog: Any = None
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    setup_output: str = ""
    server: subprocess.Popen[bytes] | None = None

    @property
    def mode(self) -> str:
        """The recipe's MODE: its default unless the test chose one."""
        return self.names["MODE"]

    @property
    def service(self) -> str:
        return self.names["PAM_SERVICE"]

    @property
    def service_user(self) -> str:
        return self.names["SERVICE_USER"]

    @property
    def alice(self) -> str:
        return self.names["alice"]

    @property
    def pam_file(self) -> Path:
        return Path("/etc/pam.d") / self.service

    @property
    def etc(self) -> Path:
        return self.paths["ETC"]

    @property
    def state(self) -> Path:
        return self.paths["STATE"]

    def audit_lines(self) -> list[dict[str, Any]]:
        path = self.state / "audit.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines()]

    def run_setup(self, **overrides: str) -> subprocess.CompletedProcess[str]:
        values = {
            "SERVICE_USER": self.service_user,
            "PAM_SERVICE": self.service,
            "CODE_ONLY": self.names["CODE_ONLY"],
            "MODE": self.names["MODE"],
            "PYTHON": str(self.paths["PYTHON"]),
            "SOURCE": str(ROOT),
            **{
                name: str(self.paths[name])
                for name in ("ETC", "STATE", "HELPER", "MODULE_DIR", "SOCKET", "UNIT")
            },
            "SSHD_SNIPPET": str(self.paths["SSHD_SNIPPET"]) if self.paths["SSHD_SNIPPET"] else "",
            **overrides,
        }
        script = self.root / "pam-setup.sh"
        script.write_text(substitute(pam_setup_script(), values))
        return subprocess.run(
            ["sh", str(script)], capture_output=True, text=True, timeout=300, check=False
        )

    @classmethod
    def create(
        cls,
        certs: Any,
        *,
        code_only: bool = True,
        sshd: bool = False,
        base_service: str = BASE_SERVICE,
        mode: str | None = None,
    ) -> PamHost:
        """`base_service`: the service file's text before the recipe adds its line (a copy of
        the machine's /etc/pam.d/su, say, to run the recipe on what an operator would)."""
        require_root_and_tools()
        require(SETPRIV is not None, "setpriv (util-linux) is not installed")
        root = Path(tempfile.mkdtemp(prefix="otp-pam-host-"))
        root.chmod(0o755)
        tag = secrets.token_hex(3)
        names = {
            "SERVICE_USER": f"otppamsvc{tag}",
            "PAM_SERVICE": f"otp-tui-test-{tag}",
            "CODE_ONLY": "yes" if code_only else "no",
            "MODE": mode or recipe_default("MODE"),
            "alice": f"otppamalice{tag}",
        }
        paths: dict[str, Any] = {
            "ETC": root / "etc",
            "STATE": root / "state",
            "HELPER": root / "libexec" / "otp-tui-pam",
            "MODULE_DIR": root / "security",
            "SOCKET": root / "run" / "pam.sock",
            "UNIT": root / "systemd" / "otp-tui-pam.service",
            "SSHD_SNIPPET": root / "sshd" / "otp-tui-pam.conf" if sshd else None,
        }
        for folder in ("libexec", "sshd", "home", "systemd"):
            (root / folder).mkdir(mode=0o755)
        host = cls(root, names, paths)
        try:
            host._build(certs, base_service)
        except BaseException:
            host.close()
            raise
        return host

    def _build(self, certs: Any, base_service: str) -> None:
        from rsyslogd import start_rsyslogd

        self.paths["PYTHON"] = shared_python(self.root / "python")
        self.pam_file.write_text(base_service)
        self.pam_file.chmod(0o644)
        self.users.append(self.service_user)  # the script makes it: removed at close
        self.groups.append(self.service_user)
        run = self.run_setup()
        self.setup_output = run.stdout + run.stderr
        assert run.returncode == 0, f"the README's PAM script failed:\n{self.setup_output}"
        again = self.run_setup()
        assert again.returncode == 0, f"the PAM script is not safe to run again:\n{again.stderr}"

        home = self.root / "home" / self.alice
        subprocess.run(
            ["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
             "--password", "*", self.alice],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        self.users.append(self.alice)

        self.relay = start_relay(certs, auth=True)
        self.syslog = start_rsyslogd(self.root / "syslog")
        etc = self.etc
        shutil.copy(certs.ca_file, etc / "ca.pem")
        os.chmod(etc / "ca.pem", 0o644)
        password = etc / "smtp-password"
        password.chmod(0o600)
        password.write_text(RELAY_PASSWORD + "\n")
        password.chmod(0o400)
        (etc / "addresses").write_text(f"# the users\n{self.alice}  alice@example.com\n")
        (etc / "config.toml").write_text(
            f"""[smtp]
host = "127.0.0.1"
port = {self.relay.port}
username = "{RELAY_USER}"
password_file = "{password}"
ca_file = "{etc / "ca.pem"}"
timeout = 5

[sender]
address = "gate@example.com"

[policy]
max_attempts = 2

[state]
syslog_facility = "authpriv"
syslog_socket = "{self.syslog.socket}"

[gate]
addresses_file = "{etc / "addresses"}"
state_dir = "{self.state}"
"""
        )
        if self.mode == "server":
            self.start_server()

    def server_command(self) -> list[str]:
        """The unit's ExecStart line, as systemd would split it."""
        text = self.paths["UNIT"].read_text()
        found = re.search(r"^ExecStart=(.*)$", text, re.M)
        assert found is not None, f"the unit has no ExecStart line:\n{text}"
        return shlex.split(found.group(1))

    def start_server(self, command: list[str] | None = None) -> subprocess.Popen[bytes]:
        """The helper service (the unit's ExecStart, or `command`), as the unit's User= with
        its groups, an empty environment and its umask, in a mount namespace whose /dev/log is
        the test's rsyslogd (its refusals are read there); returns once its socket listens."""
        text = self.paths["UNIT"].read_text()
        assert f"User={self.service_user}\n" in text, text
        argv = command or self.server_command()
        socket = Path(argv[argv.index("--serve") + 1])
        drop = [SETPRIV, f"--reuid={self.service_user}", f"--regid={self.service_user}",
                "--init-groups", "--"]  # fmt: skip
        folder = self.root / f"server{secrets.token_hex(2)}"
        folder.mkdir()
        server = subprocess.Popen(
            with_private_syslog(folder, self.syslog.socket, [*drop, *argv]),
            env={},
            umask=0o077,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=(folder / "server.err").open("wb"),
        )
        deadline = time.monotonic() + 60
        while not socket.exists():  # a readiness wait, not a wait for time
            assert server.poll() is None, (folder / "server.err").read_text()
            assert time.monotonic() < deadline, "the helper service did not listen"
            time.sleep(0.02)
        if command is None:
            self.server = server
        return server

    def stop_server(self) -> int | None:
        if self.server is None:
            return None
        self.server.terminate()
        try:
            return self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            raise
        finally:
            self.server = None

    def set_password(self, user: str, password: str) -> None:
        subprocess.run(
            ["chpasswd"], input=f"{user}:{password}\n", text=True, check=True, timeout=30
        )

    def close(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.stop_server()
        if self.relay is not None:
            self.relay.stop()
        if self.syslog is not None:
            self.syslog.stop()
        self.pam_file.unlink(missing_ok=True)
        for user in reversed(self.users):
            subprocess.run(["userdel", "--force", user], capture_output=True, check=False)
        for group in self.groups:
            subprocess.run(["groupdel", group], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)
