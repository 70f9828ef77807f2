"""A host set up by the README's gate recipe, for real: users, sudo, sshd, a relay, rsyslogd.

`GateHost.create(root, tls_certs)` runs the README's setup script (extracted from the README,
with this test's paths and user names substituted, so the README cannot drift from what is
tested), creates two gated users, fills in the operator's files, and starts:

- an aiosmtpd relay on 127.0.0.1 with STARTTLS (a trustme certificate) and AUTH, whose
  password the gate reads from the recipe's password file; and a second "attacker" relay that
  must never hear from the gate;
- a private rsyslogd (its own socket and output file) for the gate's audit lines;
- sshd on a free loopback port with `AcceptEnv *`, and the recipe's Match block through
  `Include`, which narrows it to the locale for gated users; alice alone is given `*` back (a
  Match block of the test's own), so that every variable a client sends reaches her session
  and the gate's own refusals are what is tested.

The users, group, sudoers file and everything else are removed by `close()`. Names carry a
random suffix, so nothing clashes with the machine's own accounts or another run.

Other users cannot run the test's interpreter when it lives under /root (mode 0700), so the
gate gets a virtual environment of its own, built from an interpreter of the same version that
everyone may run, with the checkout and the test's site-packages on its path (copied when
other users could not read them in place).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
RELAY_USER, RELAY_PASSWORD = "gate-relay", "relay-pw-7731"
_CODE_LINE = re.compile(
    r"(?:Your verification code for .+ is|Ihr Bestätigungscode für .+ lautet):\s*(\d+)"
)

SSHD = shutil.which("sshd") or shutil.which("sshd", path="/usr/sbin:/usr/local/sbin:/sbin")
SSH = shutil.which("ssh")
SSH_KEYGEN = shutil.which("ssh-keygen")


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; .ci/run must provide it")
    pytest.skip(reason)


def setup_script() -> str:
    """The README's setup script, word for word."""
    text = README.read_text(encoding="utf-8")
    marker = text.index("<!-- gate-setup:")
    found = re.compile(r"```sh\n(.*?)```", re.S).search(text, marker)
    assert found is not None, "the README has no setup script after its gate-setup marker"
    return found.group(1)


def substitute(script: str, values: dict[str, str]) -> str:
    """The script with each `NAME=value` assignment at the top replaced by this test's value."""
    for name, value in values.items():
        script, count = re.subn(rf"^{name}=\S+", f"{name}={value}", script, count=1, flags=re.M)
        assert count == 1, f"the README's setup script no longer sets {name}"
    return script


# --- an interpreter every user can run ----------------------------------------------------


def _others_can_use(path: Path) -> bool:
    """Whether a user with no special rights can reach (and read) `path`."""
    path = Path(os.path.realpath(path))
    for parent in path.parents:
        if not os.stat(parent).st_mode & stat.S_IXOTH:
            return False
    return bool(os.stat(path).st_mode & stat.S_IROTH)


def _same_version(python: str) -> bool:
    run = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return run.stdout.strip() == str(sys.version_info[:2])


def shared_python(folder: Path) -> Path:
    """A venv under `folder` whose interpreter and imports every user can use."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = [os.path.realpath(sys.executable), f"/usr/bin/{version}"]
    base = next(
        (
            c
            for c in candidates
            if Path(c).exists() and _others_can_use(Path(c)) and _same_version(c)
        ),
        None,
    )
    _require(base is not None, f"no {version} that other users may run")
    assert base is not None
    venv = folder / "venv"
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    entries = [ROOT] + [
        Path(entry)
        for entry in sys.path
        if entry.endswith("site-packages") and Path(entry).is_dir()
    ]
    lines = []
    for index, entry in enumerate(entries):
        if not _others_can_use(entry):
            copy = folder / f"lib{index}"
            ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".mypy_cache")
            shutil.copytree(entry, copy, symlinks=True, ignore=ignore)
            entry = copy
        lines.append(str(entry))
    site = venv / "lib" / version / "site-packages"
    (site / "otp_tui_gate_test.pth").write_text("\n".join(lines) + "\n")
    for parent, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(parent, name)
            if not path.is_symlink():
                path.chmod(
                    path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
                )
    return venv / "bin" / "python"


# --- the relays ---------------------------------------------------------------------------


@dataclass
class Relay:
    """An aiosmtpd server on 127.0.0.1 in a thread of its own; `received` holds what it took."""

    port: int
    controller: Any
    received: list[EmailMessage] = field(default_factory=list)
    connections: list[str] = field(default_factory=list)

    def wait_for_code(self, count: int, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"the relay got {len(self.received)} mails"
            time.sleep(0.02)
        message = self.received[count - 1]
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        found = _CODE_LINE.search(part.get_content())
        assert found is not None, "the mail has no code line"
        return found.group(1)

    def stop(self) -> None:
        self.controller.stop()


def start_relay(certs: Any, *, auth: bool) -> Relay:
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    relay: Relay

    class Handler:
        async def handle_EHLO(
            self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
        ) -> list[str]:
            relay.connections.append(hostname)
            session.host_name = hostname
            return responses

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            relay.received.append(
                message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[arg-type]
            )
            return "250 OK"

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        good = isinstance(data, LoginPassword) and (data.login, data.password) == (
            RELAY_USER.encode(),
            RELAY_PASSWORD.encode(),
        )
        return AuthResult(success=good, handled=False)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certs.good.configure_cert(context)
    port = free_port()
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator if auth else None,
        auth_required=auth,
        auth_require_tls=True,
    )
    relay = Relay(port, controller)
    controller.start()
    return relay


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- the host -----------------------------------------------------------------------------


def _run(*argv: str) -> None:
    subprocess.run(list(argv), check=True, timeout=60, capture_output=True)


@dataclass
class GateHost:
    root: Path
    names: dict[str, str]
    paths: dict[str, Path]
    python: Path
    relay: Relay
    attacker: Relay
    syslog: Any
    port: int
    client_key: Path
    sshd: subprocess.Popen[bytes] | None = None
    users: list[str] = field(default_factory=list)

    @property
    def alice(self) -> str:
        return self.names["alice"]

    @property
    def bob(self) -> str:
        return self.names["bob"]

    @property
    def audit_path(self) -> Path:
        return self.paths["STATE"] / "audit.jsonl"

    @property
    def ledger_path(self) -> Path:
        return self.paths["STATE"] / "ledger.sqlite3"

    def audit_lines(self) -> list[dict[str, Any]]:
        import json

        if not self.audit_path.exists():
            return []
        return [json.loads(line) for line in self.audit_path.read_text().splitlines()]

    def ssh_argv(self, user: str, *options: str) -> list[str]:
        assert SSH is not None
        return [
            SSH,
            "-F", "/dev/null",
            "-p", str(self.port),
            "-i", str(self.client_key),
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no",
            "-o", f"UserKnownHostsFile={self.root / 'known_hosts'}",
            "-o", "LogLevel=ERROR",
            *options,
            f"{user}@127.0.0.1",
        ]  # fmt: skip

    def as_user(self, user: str, *argv: str) -> subprocess.CompletedProcess[str]:
        """Run `argv` as `user` (their uid, gid and groups), with a bare environment."""
        import pwd

        entry = pwd.getpwnam(user)
        return subprocess.run(
            list(argv),
            user=entry.pw_uid,
            group=entry.pw_gid,
            extra_groups=os.getgrouplist(user, entry.pw_gid),
            env={"PATH": "/usr/bin:/bin", "HOME": entry.pw_dir, "LANG": "C.UTF-8"},
            cwd="/",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    @classmethod
    def create(cls, certs: Any) -> GateHost:
        _require(os.geteuid() == 0, "the gate recipe needs root (it creates users and sudoers)")
        for tool in ("sudo", "visudo", "useradd", "groupadd"):
            _require(
                shutil.which(tool, path="/usr/sbin:/usr/bin:/sbin:/bin") is not None,
                f"{tool} is not installed",
            )
        _require(None not in (SSHD, SSH, SSH_KEYGEN), "OpenSSH is not installed")
        root = Path(tempfile.mkdtemp(prefix="otp-gate-"))
        root.chmod(0o755)
        tag = secrets.token_hex(3)
        names = {
            "SERVICE_USER": f"otpsvc{tag}",
            "GATED_GROUP": f"otpgated{tag}",
            "alice": f"otpalice{tag}",
            "bob": f"otpbob{tag}",
        }
        paths = {
            "ETC": root / "etc",
            "STATE": root / "state",
            "BIN": root / "bin" / "otp-tui",
            "GATE": root / "libexec" / "otp-gate",
            "SUDOERS": Path(f"/etc/sudoers.d/otp-tui-test-{tag}"),
            "SSHD_SNIPPET": root / "sshd" / "otp-tui.conf",
        }
        for folder in ("bin", "libexec", "sshd", "home", "keys"):
            (root / folder).mkdir(mode=0o755)
        host = cls(root, names, paths, Path(), None, None, None, 0, root / "client_key")  # type: ignore[arg-type]
        try:
            host._build(certs)
        except BaseException:
            host.close()
            raise
        return host

    def _build(self, certs: Any) -> None:
        from rsyslogd import start_rsyslogd

        self.python = shared_python(self.root / "python")
        values = {
            "SERVICE_USER": self.names["SERVICE_USER"],
            "GATED_GROUP": self.names["GATED_GROUP"],
            "PYTHON": str(self.python),
            **{name: str(path) for name, path in self.paths.items()},
        }
        script = self.root / "setup.sh"
        script.write_text(substitute(setup_script(), values))
        run = subprocess.run(
            ["sh", str(script)], capture_output=True, text=True, timeout=120, check=False
        )
        self.users.append(self.names["SERVICE_USER"])  # created by the script: removed at close
        assert run.returncode == 0, f"the README's setup script failed:\n{run.stdout}{run.stderr}"

        for user in (self.alice, self.bob):
            home = str(self.root / "home" / user)
            group = self.names["GATED_GROUP"]
            # "*": no password, but not a locked account (sshd refuses those). Bash, as most
            # users have: the one that reads ~/.bashrc under sshd before a forced command.
            _run("useradd", "--create-home", "--home-dir", home, "--shell", "/bin/bash",
                 "--groups", group, "--password", "*", user)  # fmt: skip
            self.users.append(user)

        # As the README says after adding users: run the script again (it must be safe to).
        run = subprocess.run(
            ["sh", str(script)], capture_output=True, text=True, timeout=120, check=False
        )
        assert run.returncode == 0, f"the setup script is not safe to run again:\n{run.stderr}"

        self.relay = start_relay(certs, auth=True)
        self.attacker = start_relay(certs, auth=False)
        self.syslog = start_rsyslogd(self.root / "syslog")

        etc = self.paths["ETC"]
        shutil.copy(certs.ca_file, etc / "ca.pem")
        os.chmod(etc / "ca.pem", 0o644)
        # The operator fills in the files the script made: written in place, so their owners
        # and modes stay the script's.
        (etc / "smtp-password").chmod(0o600)
        (etc / "smtp-password").write_text(RELAY_PASSWORD + "\n")
        (etc / "smtp-password").chmod(0o400)
        (etc / "addresses").write_text(f"# the gated users\n{self.alice}  alice@example.com\n")
        (etc / "config.toml").write_text(
            f"""[smtp]
host = "127.0.0.1"
port = {self.relay.port}
username = "{RELAY_USER}"
password_file = "{etc / "smtp-password"}"
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
state_dir = "{self.paths["STATE"]}"
"""
        )
        self._start_sshd()

    def _start_sshd(self) -> None:
        assert SSHD is not None
        assert SSH_KEYGEN is not None
        etc = self.root / "sshd"
        for key in (etc / "host_key", self.client_key):
            _run(SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(key))
        public = (self.root / "client_key.pub").read_text()
        for user in (self.alice, self.bob):
            keys = self.root / "keys" / user
            keys.write_text(public)
            keys.chmod(0o644)
        self.port = free_port()
        config = etc / "sshd_config"
        config.write_text(
            f"""Port {self.port}
ListenAddress 127.0.0.1
HostKey {etc / "host_key"}
PidFile none
AuthorizedKeysFile {self.root / "keys"}/%u
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
StrictModes no
AcceptEnv *
LogLevel VERBOSE
# alice keeps every variable a client sends, to show what the gate itself ignores; the
# recipe's Match block narrows them to the locale for every other gated user (bob).
Match User {self.alice}
    AcceptEnv *
Match all
Include {self.paths["SSHD_SNIPPET"]}
"""
        )
        Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
        log = etc / "sshd.log"
        with open(log, "wb") as log_file:
            self.sshd = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while True:
            if self.sshd.poll() is not None:
                pytest.fail(f"sshd exited with {self.sshd.returncode}:\n{log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                assert time.monotonic() < deadline, f"sshd never listened:\n{log.read_text()}"
                time.sleep(0.05)

    def close(self) -> None:
        if self.sshd is not None and self.sshd.poll() is None:
            os.killpg(self.sshd.pid, signal.SIGTERM)
            self.sshd.wait(timeout=10)
        for relay in (self.relay, self.attacker):
            if relay is not None:
                relay.stop()
        if self.syslog is not None:
            self.syslog.stop()
        for user in reversed(self.users):
            # --force: a session that is still closing must not leave the account behind.
            subprocess.run(["userdel", "--force", user], capture_output=True, check=False)
        for group in (self.names["GATED_GROUP"], self.names["SERVICE_USER"]):
            subprocess.run(["groupdel", group], capture_output=True, check=False)
        self.paths["SUDOERS"].unlink(missing_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)
