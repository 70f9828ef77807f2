"""sudo with the module in its PAM stack: the password, then the code, on the same terminal.

The host is the README's PAM recipe with CODE_ONLY=no on a PAM service of the test's own,
which sudo is told to use for the test's user alone (sudoers' `pam_service`). The user types
in a real pty, as a person at a terminal does; the code is read from the relay's mail.
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
from relay_host import require

SUDO = shutil.which("sudo") or shutil.which("sudo", path="/usr/bin:/bin")
SETPRIV = shutil.which("setpriv") or shutil.which("setpriv", path="/usr/bin:/bin")
PASSWORD = "alice-pw-" + secrets.token_hex(4)


@pytest.fixture(scope="module")
def host(tls_certs) -> Iterator[PamHost]:
    require(SUDO is not None, "sudo is not installed")
    require(SETPRIV is not None, "setpriv (util-linux) is not installed")
    made = PamHost.create(tls_certs, code_only=False)
    sudoers = Path(f"/etc/sudoers.d/{made.service}")
    try:
        made.set_password(made.alice, PASSWORD)
        rules = (
            f"Defaults:{made.alice} pam_service={made.service}, passwd_tries=1, !lecture\n"
            f"{made.alice} ALL=(root) /usr/bin/id\n"
        )
        staged = made.root / "sudoers"
        staged.write_text(rules)
        subprocess.run(["visudo", "-cqf", str(staged)], check=True, timeout=30)
        shutil.copy(staged, sudoers)
        sudoers.chmod(0o440)
        yield made
    finally:
        sudoers.unlink(missing_ok=True)
        made.close()


@pytest.fixture
def as_alice(host: PamHost) -> Iterator:
    started: list[Terminal] = []

    def start(*argv: str) -> Terminal:
        assert SETPRIV is not None
        term = Terminal(
            [SETPRIV, f"--reuid={host.alice}", f"--regid={host.alice}", "--init-groups", *argv],
            {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "xterm", "HOME": "/"},
        )
        started.append(term)
        return term

    yield start
    for term in started:
        term.kill()


@pytest.fixture(autouse=True)
def fresh_limits(host: PamHost) -> None:
    (host.state / "ledger.sqlite3").unlink(missing_ok=True)


def test_the_recipe_keeps_the_password_first(host: PamHost) -> None:
    lines = [line for line in host.pam_file.read_text().splitlines() if line.strip()]
    assert lines.index("@include common-auth") < next(
        index for index, line in enumerate(lines) if "pam_otp_tui.so" in line
    )


def test_sudo_asks_for_the_code_and_the_right_one_runs_the_command(host: PamHost, as_alice) -> None:
    assert SUDO is not None
    sent = len(host.relay.received)
    term = as_alice(SUDO, "-k", "/usr/bin/id")
    term.expect(r"password for ")
    term.send(PASSWORD + "\r")
    # sudo calls pam_authenticate with PAM_SILENT (before 1.9.16 always, since then unless
    # `Defaults !pam_silent`): the module's messages come inside the prompt that follows them.
    term.expect(r"We sent a 6-digit code to a\*\*\*@example\.com\.\r?\nCode expires in ")
    term.expect(r"Code: ")
    term.send(host.relay.wait_for_code(sent + 1) + "\r")
    term.expect(r"uid=0\(root\)")
    assert term.wait(20) == 0
    assert "Verified." not in term.text  # said after the last prompt: dropped
    last = host.audit_lines()[-1]
    assert last["event"] == "verified"
    assert last["pam_service"] == host.service


def test_sudo_refuses_a_wrong_code(host: PamHost, as_alice) -> None:
    assert SUDO is not None
    term = as_alice(SUDO, "-k", "/usr/bin/id")
    term.expect(r"password for ")
    term.send(PASSWORD + "\r")
    term.expect(r"Code: ")
    term.send("000000\r")
    term.expect(r"Wrong code: 1 attempt left\.\r?\nCode: ")
    term.send("000001\r")
    term.expect(r"Locked\.[^\r\n]*(\r?\n[^\r\n]+)*\r?\nPress Enter to end\. > ")
    term.send("\r")
    assert term.wait(30) != 0
    assert "uid=0" not in term.text
    assert host.audit_lines()[-1]["event"] == "locked"
    sent = len(host.relay.received)
    # Locked now: the helper refuses before asking for a code, and says why with the last
    # prompt, which carries the reason under PAM_SILENT (without it sudo would show only its
    # own "incorrect password attempt").
    again = as_alice(SUDO, "-k", "/usr/bin/id")
    again.expect(r"password for ")
    again.send(PASSWORD + "\r")
    again.expect(
        r"Locked\. Too many wrong codes\. a\*\*\*@example\.com is locked until [^\r\n]+"
        r"\r?\nPress Enter to end\. > "
    )
    again.send("\r")
    again.expect(r"incorrect password attempt")
    assert again.wait(30) != 0
    assert "uid=0" not in again.text
    assert "Code:" not in again.text
    assert len(host.relay.received) == sent  # no mail while locked
    assert host.audit_lines()[-1]["event"] == "locked"


def test_a_wrong_password_sends_no_mail(host: PamHost, as_alice) -> None:
    assert SUDO is not None
    sent = len(host.relay.received)
    term = as_alice(SUDO, "-k", "/usr/bin/id")
    term.expect(r"password for ")
    term.send("not-the-password\r")
    assert term.wait(30) != 0
    assert "Code:" not in term.text
    assert len(host.relay.received) == sent
