"""su with the module in its PAM stack: the target user's password, then their code.

su names its PAM service itself (`su`, or `su-l` for `su -`, which Debian's file includes `su`
from) and takes no option to change it, so the test never edits the machine's /etc/pam.d/su:
the README's PAM recipe (CODE_ONLY=no) runs on a copy of it, and su runs in a private mount
namespace where /etc/pam.d/su is a bind mount of that copy; nobody else's su sees it. The
calling user is a second test user (root passes the file's own `pam_rootok` line); the code
goes to the target user's address. A real pty, as a person at a terminal.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.pty_harness import Terminal
from pam_host import PamHost
from relay_host import require, with_private_syslog

SU = shutil.which("su") or shutil.which("su", path="/usr/bin:/bin")
SETPRIV = shutil.which("setpriv") or shutil.which("setpriv", path="/usr/bin:/bin")
PASSWORD = "alice-pw-" + secrets.token_hex(4)

SU_PAM_FILE = Path("/etc/pam.d/su")
# In the namespace (after the private /dev of `with_private_syslog`): su's PAM file becomes
# the test's service, then the calling user runs su. $0 is the test's service file.
_SU_NAMESPACE = 'mount --bind "$0" /etc/pam.d/su && exec "$@"'


@pytest.fixture(scope="module")
def host(tls_certs) -> Iterator[PamHost]:
    require(SU is not None, "su (util-linux) is not installed")
    require(SETPRIV is not None, "setpriv (util-linux) is not installed")
    require(SU_PAM_FILE.exists(), "su has no PAM file (/etc/pam.d/su)")
    made = PamHost.create(tls_certs, code_only=False, base_service=SU_PAM_FILE.read_text())
    try:
        made.set_password(made.alice, PASSWORD)
        caller = "otppambob" + made.alice.removeprefix("otppamalice")
        subprocess.run(
            ["useradd", "--no-create-home", "--home-dir", "/", "--shell", "/bin/sh",
             "--password", "*", caller],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        made.users.append(caller)
        made.names["bob"] = caller
        yield made
    finally:
        made.close()


@pytest.fixture
def as_bob(host: PamHost) -> Iterator:
    started: list[Terminal] = []

    def start(*su_args: str) -> Terminal:
        assert SU is not None
        assert SETPRIV is not None
        bob = host.names["bob"]
        drop = [SETPRIV, f"--reuid={bob}", f"--regid={bob}", "--init-groups", SU, *su_args]
        argv = with_private_syslog(
            host.root / "su",
            host.syslog.socket,
            ["sh", "-c", _SU_NAMESPACE, str(host.pam_file), *drop],
        )
        term = Terminal(argv, {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "xterm"})
        started.append(term)
        return term

    yield start
    for term in started:
        term.kill()


@pytest.fixture(autouse=True)
def fresh_limits(host: PamHost) -> None:
    (host.state / "ledger.sqlite3").unlink(missing_ok=True)


def test_the_recipe_puts_the_module_after_sus_own_lines(host: PamHost) -> None:
    lines = [line.split() for line in host.pam_file.read_text().splitlines()]
    auth = [words for words in lines if words and words[0] in ("auth", "@include")]
    assert auth[0][:3] == ["auth", "sufficient", "pam_rootok.so"]  # root's own su stays as is
    assert auth[1] == ["@include", "common-auth"]  # the password
    assert auth[2][:2] == ["auth", "required"]
    assert auth[2][2].endswith("pam_otp_tui.so")  # then the code


def test_su_asks_for_the_code_and_the_right_one_runs_the_command(host: PamHost, as_bob) -> None:
    sent = len(host.relay.received)
    term = as_bob(host.alice, "-c", "echo SU-RAN-$((6*7)) as $(id -un)")
    term.expect(r"Password: ")
    term.send(PASSWORD + "\r")
    term.expect(r"We sent a 6-digit code to a\*\*\*@example\.com\.")  # su shows messages
    term.expect(r"Code: ")
    term.send(host.relay.wait_for_code(sent + 1) + "\r")
    term.expect(rf"SU-RAN-42 as {host.alice}")
    assert term.wait(20) == 0
    last = host.audit_lines()[-1]
    assert last["event"] == "verified"
    assert last["pam_service"] == "su"


def test_su_login_shell_opens_after_the_right_code(host: PamHost, as_bob) -> None:
    sent = len(host.relay.received)
    term = as_bob("-", host.alice)
    term.expect(r"Password: ")
    term.send(PASSWORD + "\r")
    term.expect(r"Code: ")
    term.send(host.relay.wait_for_code(sent + 1) + "\r")
    term.expect(r"\$ $", timeout=20)  # the login shell's prompt
    term.send("echo LOGIN-$((40+2)) in $PWD; exit\r")
    term.expect(rf"LOGIN-42 in {host.root}/home/{host.alice}")
    assert term.wait(20) == 0
    assert host.audit_lines()[-1]["pam_service"] == "su-l"


def test_su_refuses_a_wrong_code(host: PamHost, as_bob) -> None:
    term = as_bob(host.alice, "-c", "echo SHOULD-NOT-RUN")
    term.expect(r"Password: ")
    term.send(PASSWORD + "\r")
    term.expect(r"Code: ")
    term.send("000000\r")
    term.expect(r"Wrong code: 1 attempt left\.")
    term.expect(r"Code: ")
    term.send("000001\r")
    term.expect(r"Locked\.")
    term.expect(r"Press Enter to end\. > ")
    term.send("\r")
    term.expect(r"su: Authentication failure")
    assert term.wait(20) != 0
    assert "SHOULD-NOT-RUN" not in term.text  # the command is an argument, never echoed
    assert host.audit_lines()[-1]["event"] == "locked"


def test_a_wrong_password_sends_no_mail(host: PamHost, as_bob) -> None:
    sent = len(host.relay.received)
    term = as_bob(host.alice, "-c", "true")
    term.expect(r"Password: ")
    term.send("not-the-password\r")
    term.expect(r"su: Authentication failure", timeout=20)
    assert term.wait(20) != 0
    assert "Code:" not in term.text
    assert len(host.relay.received) == sent
