"""A real sshd asks for the code through the module, driven by a real ssh client in a pty.

The host is the README's PAM recipe (`pam_host`) with its sshd snippet (the key, then
keyboard-interactive through PAM); the relay is a real aiosmtpd server, and the code is read
from its mail as a person reads it. Every door the ForceCommand gate had to shut (a command,
scp, sftp, rsync, git) passes here after the code, and nothing of the user's runs before it.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.gate_host import SSH
from e2e.pty_harness import Terminal
from pam_host import PamHost
from relay_host import require
from sshd_host import PamSshd

SCP = shutil.which("scp")
SFTP = shutil.which("sftp")
RSYNC = shutil.which("rsync")
GIT = shutil.which("git")
DENIED = r"Permission denied"
LOCKED_PROMPT = (
    r"Locked\. Too many wrong codes\. a\*\*\*@example\.com is locked until [^\r\n]+"
    r"\r?\n(?:\([^)]*\) )?Press Enter to end\. > "
)
TRIES = 3  # ssh's NumberOfPasswordPrompts: keyboard-interactive tries per login, by default


@pytest.fixture(scope="module")
def host(tls_certs) -> Iterator[PamHost]:
    made = PamHost.create(tls_certs, sshd=True)
    yield made
    made.close()


@pytest.fixture(scope="module")
def sshd(host: PamHost) -> Iterator[PamSshd]:
    server = PamSshd.start(host)
    yield server
    server.stop()


@pytest.fixture
def client() -> Iterator:
    started: list[Terminal] = []

    def start(argv: list[str], env: dict[str, str] | None = None) -> Terminal:
        base = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "xterm"}
        term = Terminal(argv, {**base, **(env or {})})
        started.append(term)
        return term

    yield start
    for term in started:
        term.kill()


@pytest.fixture(autouse=True)
def fresh_limits(host: PamHost) -> None:
    """Each test starts unlocked, as after an operator's unlock."""
    (host.state / "ledger.sqlite3").unlink(missing_ok=True)


def pass_the_code(host: PamHost, term: Terminal) -> None:
    sent = len(host.relay.received)
    term.expect(r"We sent a 6-digit code to a\*\*\*@example\.com\.")
    term.expect(r"Code: ")
    term.send(host.relay.wait_for_code(sent + 1) + "\r")


def read_the_lock_until_denied(term: Terminal) -> int:
    """Answer every lock prompt with Enter until the client gives up: how many there were.
    Each shows the lock's reason in the client's terminal (sshd sends it with the prompt)."""
    shown = 0
    while True:
        found = term.expect(LOCKED_PROMPT + "|" + DENIED, timeout=20)
        if found.group().startswith("Permission"):
            return shown
        shown += 1
        term.send("\r")


def home(host: PamHost) -> Path:
    return host.root / "home" / host.alice


def test_the_right_code_opens_a_shell(host: PamHost, sshd: PamSshd, client) -> None:
    term = client(sshd.ssh())
    pass_the_code(host, term)
    term.expect(r"Verified\. a\*\*\*@example\.com is confirmed")  # sshd shows it after login
    term.expect(r"\$ $", timeout=20)  # the shell's prompt: it reads what is typed from here
    term.send("echo SHELL-$((6*7)); exit\r")
    term.expect(r"SHELL-42")
    assert term.wait(20) == 0
    last = host.audit_lines()[-1]
    assert last["event"] == "verified"
    assert last["pam_service"] == host.service
    assert last["rhost"] == "127.0.0.1"


def test_wrong_codes_refuse_and_the_lock_holds_across_logins(
    host: PamHost, sshd: PamSshd, client
) -> None:
    term = client(sshd.ssh())
    term.expect(r"Code: ")
    term.send("000000\r")
    term.expect(r"Wrong code: 1 attempt left\.")
    term.expect(r"Code: ")
    term.send("000001\r")
    # sshd shows the reason because a prompt follows it; the client's two more tries each
    # start a helper that finds the lock and says so the same way.
    assert read_the_lock_until_denied(term) == TRIES
    assert term.wait(20) != 0
    assert host.audit_lines()[-1]["event"] == "locked"
    sent = len(host.relay.received)
    # The next login: refused before any question, without a mail (the lock is in the
    # ledger), and the reason shows in the client's terminal, once per try.
    again = client(sshd.ssh())
    assert read_the_lock_until_denied(again) == TRIES
    assert again.wait(20) != 0
    assert len(host.relay.received) == sent  # locked: no new mail
    assert "Code:" not in again.text


def test_one_try_reads_the_lock_once(host: PamHost, sshd: PamSshd, client) -> None:
    """With NumberOfPasswordPrompts=1 the client tries keyboard-interactive once: the lock's
    reason, one Enter, and "Permission denied"."""
    term = client(sshd.ssh(options=("-o", "NumberOfPasswordPrompts=1")))
    term.expect(r"Code: ")
    term.send("000000\r")
    term.expect(r"Code: ")
    term.send("000001\r")
    assert read_the_lock_until_denied(term) == 1
    assert term.wait(20) != 0
    again = client(sshd.ssh(options=("-o", "NumberOfPasswordPrompts=1")))
    assert read_the_lock_until_denied(again) == 1
    assert again.wait(20) != 0
    assert "Code:" not in again.text


def test_a_user_with_no_address_is_asked_nothing(host: PamHost, sshd: PamSshd, client) -> None:
    """The reason is the operator's (syslog has it): no prompt on any try, so sshd shows none
    of the helper's lines, only the refusal."""
    user = host.alice.replace("alice", "nomail")
    subprocess.run(
        ["useradd", "--no-create-home", "--shell", "/bin/sh", "--password", "*", user],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    host.users.append(user)  # removed with the host
    key = host.root / "keys" / user
    key.write_text((host.root / "client_key.pub").read_text())
    key.chmod(0o644)
    sent = len(host.relay.received)
    argv = sshd.ssh()
    argv[-1] = f"{user}@127.0.0.1"
    term = client(argv)
    term.expect(DENIED, timeout=20)
    assert term.wait(20) != 0
    assert "Code:" not in term.text
    assert "Press Enter" not in term.text
    assert "no email address" not in term.text
    assert len(host.relay.received) == sent
    assert any(f"no email address on file for {user}" in line for line in host.syslog.lines())


def test_a_command_runs_after_the_code(host: PamHost, sshd: PamSshd, client) -> None:
    term = client(sshd.ssh("echo", "RAN-$((40+2))"))
    pass_the_code(host, term)
    term.expect(r"RAN-42")
    assert term.wait(20) == 0


def test_scp_and_sftp_copy_a_file_after_the_code(
    host: PamHost, sshd: PamSshd, client, tmp_path: Path
) -> None:
    assert SCP is not None
    assert SFTP is not None
    source = tmp_path / "payload.txt"
    source.write_text("copied through the PAM door\n")
    source.chmod(0o644)
    term = client([SCP, *sshd.options(), "-P", str(sshd.port), str(source),
                   f"{host.alice}@127.0.0.1:scp-copy.txt"])  # fmt: skip
    pass_the_code(host, term)
    assert term.wait(30) == 0, term.text
    assert (home(host) / "scp-copy.txt").read_text() == source.read_text()

    # sftp interactively: -b (batch mode) would forbid answering any prompt.
    copied = tmp_path / "sftp-copy.txt"
    term = client([SFTP, *sshd.options(), "-P", str(sshd.port), f"{host.alice}@127.0.0.1"])
    pass_the_code(host, term)
    term.expect(r"sftp> ")
    term.send(f"get scp-copy.txt {copied}\r")
    term.expect(r"sftp> ")
    term.send("bye\r")
    assert term.wait(30) == 0, term.text
    assert copied.read_text() == source.read_text()


def test_rsync_copies_a_file_after_the_code(
    host: PamHost, sshd: PamSshd, client, tmp_path: Path
) -> None:
    require(RSYNC is not None, "rsync is not installed")
    assert RSYNC is not None
    assert SSH is not None
    source = tmp_path / "rsync-payload.txt"
    source.write_text("copied by rsync through the PAM door\n")
    source.chmod(0o644)
    transport = shlex.join([SSH, *sshd.options(), "-p", str(sshd.port)])
    term = client([RSYNC, "-e", transport, str(source), f"{host.alice}@127.0.0.1:rsync-copy.txt"])
    pass_the_code(host, term)
    assert term.wait(30) == 0, term.text
    assert (home(host) / "rsync-copy.txt").read_text() == source.read_text()


def test_git_clones_and_pushes_after_the_code(
    host: PamHost, sshd: PamSshd, client, tmp_path: Path
) -> None:
    require(GIT is not None, "git is not installed")
    assert GIT is not None
    assert SSH is not None
    bare = home(host) / "project.git"
    subprocess.run([GIT, "init", "-q", "--bare", str(bare)], check=True, timeout=30)
    subprocess.run(["chown", "-R", f"{host.alice}:", str(bare)], check=True, timeout=30)
    env = {
        # git runs this for every connection: the test's key and options, the sshd's port.
        "GIT_SSH_COMMAND": shlex.join([SSH, *sshd.options()]),
        "HOME": str(tmp_path),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "alice@example.com",
        "GIT_COMMITTER_NAME": "Alice", "GIT_COMMITTER_EMAIL": "alice@example.com",
    }  # fmt: skip
    url = f"ssh://{host.alice}@127.0.0.1:{sshd.port}{bare}"
    work = tmp_path / "work"
    term = client([GIT, "clone", url, str(work)], env)
    pass_the_code(host, term)
    assert term.wait(30) == 0, term.text
    assert (work / ".git").is_dir()

    (work / "notes.txt").write_text("pushed through the PAM door\n")
    for argv in (["add", "notes.txt"], ["commit", "-q", "-m", "through the door"]):
        subprocess.run([GIT, "-C", str(work), *argv], check=True, timeout=30, env=env)
    term = client([GIT, "-C", str(work), "push", "origin", "HEAD"], env)
    pass_the_code(host, term)
    assert term.wait(30) == 0, term.text
    pushed = subprocess.run(
        [GIT, "-c", "safe.directory=*", "--git-dir", str(bare), "log", "--format=%s"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    assert pushed.stdout.splitlines() == ["through the door"]


def test_the_users_files_run_nothing_before_the_code(host: PamHost, sshd: PamSshd, client) -> None:
    marker = home(host) / "bashrc-ran"  # alice may write there
    rc = home(host) / ".bashrc"
    rc.write_text(
        f'touch {marker}\n[ -n "$SSH_ORIGINAL_COMMAND" ] && exec sh -c "$SSH_ORIGINAL_COMMAND"\n'
    )
    subprocess.run(["chown", f"{host.alice}:", str(rc)], check=True)
    try:
        term = client(sshd.ssh("echo", "AFTER"))
        term.expect(r"Code: ")
        assert not marker.exists()  # at the prompt, nothing of alice's has run
        term.send("000000\r")
        term.expect(r"Code: ")
        term.send("000000\r")
        assert read_the_lock_until_denied(term) == TRIES
        term.wait(20)
        assert not marker.exists()  # refused: it never ran
        (host.state / "ledger.sqlite3").unlink()
        term = client(sshd.ssh("echo", "AFTER"))
        pass_the_code(host, term)
        term.expect("AFTER")
        term.wait(20)
        assert marker.exists()  # the same file runs once the code is right: the test can tell
    finally:
        rc.unlink()
        marker.unlink(missing_ok=True)


def test_environment_the_client_sends_changes_nothing(host: PamHost, sshd: PamSshd, client) -> None:
    attacker = "OTP_TUI_SMTP__HOST=203.0.113.9"
    sent = len(host.relay.received)
    term = client(
        sshd.ssh(
            "echo", "DONE",
            options=("-o", f"SetEnv=LANG=de_DE.UTF-8 LC_ALL=de_DE.UTF-8 {attacker} "
                     "PYTHONPATH=/tmp/evil LD_PRELOAD=/tmp/evil.so"),
        )
    )  # fmt: skip
    term.expect(r"We sent a 6-digit code")  # English: the client's LANG arrives after auth
    term.expect(r"Code: ")
    term.send(host.relay.wait_for_code(sent + 1) + "\r")
    term.expect("DONE")
    assert term.wait(20) == 0
    assert host.relay.received[-1]["To"] == "alice@example.com"
