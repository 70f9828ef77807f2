"""The README's PAM recipe, run for real, then the helper's journey through the module.

The host is set up by the README's `pam-setup` script (see `pam_host`); pamtester plays the
PAM application (it asks on a real pty, as sudo or login do), with a remote host given as an
item, as sshd gives one. The relay is a real aiosmtpd server; the code is read from its mail.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pam_host import PamHost
from relay_host import Pamtester

from otp_tui.converse.words import refused

REFUSED = r"pamtester: Authentication failure"
ACCEPTED = r"pamtester: successfully authenticated"


@pytest.fixture(scope="module")
def host(tls_certs) -> Iterator[PamHost]:
    made = PamHost.create(tls_certs)
    yield made
    made.close()


@pytest.fixture
def pamtester(host: PamHost, tmp_path: Path) -> Iterator:
    started: list[Pamtester] = []

    def start(
        user: str | None = None,
        *,
        operation: str = "authenticate",
        application: list[str] | None = None,
        **env: str,
    ) -> Pamtester:
        tester = Pamtester(
            tmp_path / f"pamtester{len(started)}",
            host.service,
            user or host.alice,
            host.syslog.socket,
            env=env or None,
            items={"rhost": "192.0.2.7"},
            operation=operation,
            application=application,
        )
        started.append(tester)
        return tester

    yield start
    for tester in started:
        tester.kill()


def unlock(host: PamHost) -> None:
    """Clear alice's limits between tests, as an operator would."""
    ledger = host.state / "ledger.sqlite3"
    ledger.unlink(missing_ok=True)


def user_without_address(host: PamHost) -> str:
    """A user of the host's own (removed with it) that the addresses file does not name."""
    name = host.alice.replace("alice", "nomail")
    if name not in host.users:
        subprocess.run(
            ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        host.users.append(name)
    return name


def owner_and_mode(path: Path) -> tuple[str, str, int]:
    import grp
    import pwd

    info = path.stat()
    return (
        pwd.getpwuid(info.st_uid).pw_name,
        grp.getgrgid(info.st_gid).gr_name,
        stat.S_IMODE(info.st_mode),
    )


def test_the_recipe_installs_what_it_says(host: PamHost) -> None:
    module = host.paths["MODULE_DIR"] / "pam_otp_tui.so"
    assert owner_and_mode(module) == ("root", "root", 0o644)
    assert owner_and_mode(host.paths["HELPER"]) == ("root", "root", 0o755)
    assert owner_and_mode(host.etc) == ("root", host.service_user, 0o750)
    assert owner_and_mode(host.state) == (host.service_user, host.service_user, 0o700)
    assert owner_and_mode(host.etc / "smtp-password") == (
        host.service_user,
        host.service_user,
        0o400,
    )
    text = host.pam_file.read_text()
    module_lines = [line for line in text.splitlines() if "pam_otp_tui.so" in line]
    # Once, though the script ran twice; the password step commented out (CODE_ONLY=yes).
    how = (
        f"socket={host.paths['SOCKET']}"
        if host.mode == "server"
        else f"helper={host.paths['HELPER']} config={host.etc / 'config.toml'}"
    )
    assert module_lines == [f"auth required {module} user={host.service_user} {how} timeout=300"]
    assert "#otp-tui# @include common-auth" in text
    assert owner_and_mode(host.pam_file) == ("root", "root", 0o644)
    helper = host.paths["HELPER"].read_text()
    assert f"exec {host.paths['PYTHON']} -I -m otp_tui.converse" in helper
    assert host.mode == "server"  # the recipe's default
    assert owner_and_mode(host.paths["SOCKET"].parent) == (
        host.service_user,
        host.service_user,
        0o700,
    )
    assert host.server_command() == [
        str(host.paths["PYTHON"]), "-I", "-m", "otp_tui.converse",
        "--serve", str(host.paths["SOCKET"]), "--config", str(host.etc / "config.toml"),
        "--timeout", "300",
    ]  # fmt: skip
    unit = host.paths["UNIT"].read_text()
    assert f"User={host.service_user}\n" in unit
    assert "NoNewPrivileges=yes\n" in unit


def test_the_right_code_authenticates(host: PamHost, pamtester) -> None:
    unlock(host)
    sent = len(host.relay.received)
    tester = pamtester()
    tester.expect(r"We sent a 6-digit code to a\*\*\*@example\.com\.")
    tester.expect(r"Code: ")
    tester.answer(host.relay.wait_for_code(sent + 1))
    tester.expect(ACCEPTED)
    assert tester.finish()[0] == 0
    assert "Verified." in tester.text
    last = host.audit_lines()[-1]
    assert last["event"] == "verified"
    assert last["user"] == host.alice
    assert last["pam_service"] == host.service
    assert last["rhost"] == "192.0.2.7"
    assert host.relay.received[-1]["To"] == "alice@example.com"
    # The same line in syslog, as the gate's: [state] syslog_facility, the operator's socket.
    logged = [line for line in host.syslog.lines() if '"event": "verified"' in line]
    assert logged
    assert f'"pam_service": "{host.service}"' in logged[-1]


def test_wrong_codes_lock_across_logins(host: PamHost, pamtester) -> None:
    unlock(host)
    tester = pamtester()
    tester.expect(r"Code: ")
    tester.answer("000000")
    tester.expect(r"Wrong code: 1 attempt left\.")
    tester.expect(r"Code: ")
    tester.answer("000001")
    tester.expect(r"Locked\.")
    tester.expect(r"Press Enter to end\. > ")
    tester.answer("")
    tester.expect(REFUSED)
    assert tester.finish()[0] != 0
    sent = len(host.relay.received)
    # The next login is refused before any question, without a mail (the lock is in the
    # ledger), and says why with the same last prompt.
    again = pamtester()
    again.expect(r"Locked\. Too many wrong codes\. a\*\*\*@example\.com is locked until ")
    again.expect(r"Press Enter to end\. > ")
    again.answer("")
    again.expect(REFUSED)
    assert again.finish()[0] != 0
    assert len(host.relay.received) == sent
    assert "Code:" not in again.text
    assert host.audit_lines()[-1]["event"] == "locked"


def test_under_pam_silent_the_journey_comes_inside_the_prompts(host: PamHost, pamtester) -> None:
    """sudo passes PAM_SILENT on every call: the module then says nothing on its own, and what
    the person must read comes with the prompts: where the code went, the attempts left, the
    lock and its reason (then "Press Enter to end."). A login refused before any question
    (locked now) says why the same way: without that last prompt the lines would be dropped."""
    unlock(host)
    sent = len(host.relay.received)
    tester = pamtester(operation="authenticate(PAM_SILENT)")
    tester.expect(
        r"We sent a 6-digit code to a\*\*\*@example\.com\.\r?\nCode expires in [^\r\n]+"
        r"\r?\nType the code[^\r\n]+\r?\nCode: "
    )
    tester.answer("000000")
    tester.expect(r"Wrong code: 1 attempt left\.\r?\nCode: ")
    tester.answer("000001")
    tester.expect(r"Locked\.[^\r\n]*(\r?\n[^\r\n]+)*\r?\nPress Enter to end\. > ")
    tester.answer("")
    tester.expect(REFUSED)
    assert tester.finish()[0] != 0
    assert len(host.relay.received) == sent + 1
    assert host.audit_lines()[-1]["event"] == "locked"
    again = pamtester(operation="authenticate(PAM_SILENT)")
    again.expect(
        r"Locked\. Too many wrong codes\. a\*\*\*@example\.com is locked until [^\r\n]+"
        r"\r?\nPress Enter to end\. > "
    )
    again.answer("")
    again.expect(REFUSED)
    assert again.finish()[0] != 0
    assert len(host.relay.received) == sent + 1  # no mail for the second
    assert "Code:" not in again.text


def test_under_pam_silent_no_message_goes_out_alone(host: PamHost, pamtester, mute_app) -> None:
    """The journey above in an application whose conversation fails any message on its own
    (it answers every prompt with a wrong code): the run goes on to the lock, so every line
    came inside a prompt."""
    unlock(host)
    tester = pamtester(application=[str(mute_app), "000000", "silent"])
    tester.expect(r"refused: Authentication failure")
    assert tester.finish()[0] == 1
    text = tester.text
    assert "failed:" not in text
    prompts = re.findall(r"prompt: (.*?)(?=\r?\nprompt: |\r?\nrefused: )", text, re.S)
    lines = [re.split(r"\r?\n", prompt) for prompt in prompts]
    assert len(lines) == 3, text
    assert "We sent a 6-digit code to a***@example.com." in lines[0]
    assert lines[0][-1] == "Code: "
    assert lines[1] == ["Wrong code: 1 attempt left.", "Code: "]
    assert lines[2][0].startswith("Locked.")
    assert lines[2][-1] == "Press Enter to end. > "
    assert host.audit_lines()[-1]["event"] == "locked"


def test_r_sends_a_new_code(host: PamHost, pamtester) -> None:
    unlock(host)
    sent = len(host.relay.received)
    tester = pamtester()
    tester.expect(r"Code: ")
    first = host.relay.wait_for_code(sent + 1)
    tester.answer("r")
    # The cooldown (a minute by default) has not passed: no second mail, and it says so.
    tester.expect(r"new code")
    tester.expect(r"Code: ")
    tester.answer(first)
    tester.expect(ACCEPTED)
    assert len(host.relay.received) == sent + 1


@pytest.mark.parametrize("operation", ["authenticate", "authenticate(PAM_SILENT)"])
def test_a_user_with_no_address_is_refused_and_asked_nothing(
    host: PamHost, pamtester, operation: str
) -> None:
    """Refused before the run, as every reason the helper cannot run is (the operator's
    syslog says which): no prompt, so under PAM_SILENT (and sshd) the line is dropped."""
    sent = len(host.relay.received)
    tester = pamtester(user=user_without_address(host), operation=operation)
    tester.expect(REFUSED)
    assert tester.finish()[0] != 0
    assert "Code:" not in tester.text
    assert "Press Enter" not in tester.text
    # The reason is the operator's: syslog has it, the person never reads it (it names the
    # host's users and files). Without PAM_SILENT pamtester, like su, shows the one sentence of
    # every setup refusal at once.
    assert "no email address" not in tester.text
    if operation == "authenticate":
        assert refused() in tester.text
    assert any("no email address on file for" in line for line in host.syslog.lines())
    assert len(host.relay.received) == sent


def test_the_callers_own_language_does_not_reach_the_helper(host: PamHost, pamtester) -> None:
    """Only the PAM environment's locale is passed on: the process's own is the invoking
    user's under sudo or su (pamtester puts nothing in the PAM environment)."""
    unlock(host)
    sent = len(host.relay.received)
    tester = pamtester(LANG="de_DE.UTF-8")
    tester.expect(r"Code: ")
    assert "We sent" in tester.text, tester.text
    assert "Wir haben" not in tester.text
    tester.answer(host.relay.wait_for_code(sent + 1))
    tester.expect(ACCEPTED)
    assert host.audit_lines()[-1]["event"] == "verified"


def test_the_exec_mode_then_back(host: PamHost, pamtester) -> None:
    """MODE=exec (hosts without a service manager): run again, the module line names the
    helper the module starts, and a login goes through it; run again with the default, the
    line names the service's socket again."""
    module = host.paths["MODULE_DIR"] / "pam_otp_tui.so"

    def module_lines() -> list[str]:
        text = host.pam_file.read_text()
        return [line for line in text.splitlines() if "pam_otp_tui.so" in line]

    run = host.run_setup(MODE="exec")
    assert run.returncode == 0, run.stderr
    try:
        assert module_lines() == [
            f"auth required {module} user={host.service_user} helper={host.paths['HELPER']} "
            f"config={host.etc / 'config.toml'} timeout=300"
        ]
        unlock(host)
        sent = len(host.relay.received)
        tester = pamtester()
        tester.expect(r"Code: ")
        tester.answer(host.relay.wait_for_code(sent + 1))
        tester.expect(ACCEPTED)
        assert tester.finish()[0] == 0
    finally:
        again = host.run_setup()
    assert again.returncode == 0, again.stderr
    assert module_lines() == [
        f"auth required {module} user={host.service_user} socket={host.paths['SOCKET']} timeout=300"
    ]


def test_nothing_is_left_running(host: PamHost) -> None:
    import pwd

    uid = pwd.getpwnam(host.service_user).pw_uid
    alive = [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and _uid_of(entry) == uid
    ]
    # In server mode the service itself, and no child: each login's ended with it.
    assert alive == ([host.server.pid] if host.server is not None else [])
    assert os.listdir(host.state)  # the runs above wrote their ledger and trail
    if host.server is not None:
        assert host.stop_server() == 0  # SIGTERM ends it cleanly
        assert not host.paths["SOCKET"].exists()  # and takes its socket with it


def _uid_of(entry: Path) -> int | None:
    try:
        for line in (entry / "status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None
