"""`otp-tui gate` behind a real sshd and a real sudo, set up by the README's own script.

Each login is `ssh -tt` by key to 127.0.0.1; sshd's Match block (from the recipe) forces the
recipe's wrapper, which runs the gate as the service user through sudo and runs the command
behind the gate only on exit status 0. That command prints a marker that the wrapper's text
never contains in one piece, so the marker on screen means the gate opened.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gate_host import GateHost
from pty_harness import Terminal

MARKER = "GATE-OPEN"
OPEN = "printf '%s-%s\\n' GATE OPEN"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def host(tls_certs: Any) -> Iterator[GateHost]:
    gate = GateHost.create(tls_certs)
    try:
        yield gate
    finally:
        gate.close()


@pytest.fixture
def login(host: GateHost, terminal: Callable[..., Terminal]) -> Callable[..., Terminal]:
    def start(user: str, *options: str, command: str = OPEN) -> Terminal:
        return terminal(command, argv=host.ssh_argv(user, "-tt", *options))

    return start


def _wrong(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


def test_the_right_code_opens_a_shell_and_leaves_the_state_out_of_reach(
    host: GateHost, login: Callable[..., Terminal]
) -> None:
    before = len(host.relay.received)
    session = login(host.alice)
    session.expect("Enter the code", timeout=30)
    assert "alice@example.com" not in session.text  # masked on screen
    code = host.relay.wait_for_code(before + 1)
    session.type(code)
    session.expect("Verified")
    session.expect("Going on to your session")
    session.expect(MARKER)  # no key: a verified login goes on by itself
    assert session.wait(timeout=15) == 0

    line = host.audit_lines()[-1]
    assert (line["event"], line["address"], line["user"]) == (
        "verified",
        "alice@example.com",
        host.alice,  # sudo's caller, not the service user the gate runs as
    )
    assert line["ssh_client"] == "127.0.0.1"  # SSH_CONNECTION kept by sudoers' env_keep

    # Syslog got the same events, authpriv, notice for "verified"; the code is nowhere.
    messages = host.syslog.wait_for(len(host.audit_lines()))
    verified = [m for m in messages if '"event": "verified"' in m]
    assert verified
    assert verified[-1].startswith("authpriv notice otp-tui[")
    assert all(code not in m for m in messages)
    assert code not in host.audit_path.read_text()

    # Once in, the user can read neither the config nor the password, and can write neither
    # the ledger nor the audit trail.
    etc = host.paths["ETC"]
    for path in (etc / "config.toml", etc / "smtp-password", etc / "addresses"):
        run = host.as_user(host.alice, "cat", str(path))
        assert run.returncode != 0
        assert "Permission denied" in run.stderr
    for path in (host.ledger_path, host.audit_path):
        assert path.exists()
        run = host.as_user(host.alice, "sh", "-c", f"echo x >> '{path}'")
        assert run.returncode != 0
        assert "Permission denied" in run.stderr
    # `otp-tui status` as that user: their own empty state, or a refusal; never the gate's.
    otp = str(host.paths["BIN"])
    run = host.as_user(host.alice, otp, "--set", f"state.ledger={host.ledger_path}", "status",
                       "alice@example.com")  # fmt: skip
    assert run.returncode == 2
    assert "sends in the last hour" not in run.stdout
    run = host.as_user(host.alice, otp, "--config", str(etc / "config.toml"), "status",
                       "alice@example.com")  # fmt: skip
    assert run.returncode == 2
    run = host.as_user(host.alice, otp, "status", "alice@example.com")
    assert run.returncode == 0, run.stderr
    assert "sends in the last hour: 0" in run.stdout


def test_wrong_codes_never_open_the_gate(host: GateHost, login: Callable[..., Terminal]) -> None:
    before = len(host.relay.received)
    session = login(host.alice)
    session.expect("Enter the code", timeout=30)
    wrong = _wrong(host.relay.wait_for_code(before + 1))
    session.type(wrong)
    session.expect("Wrong code: 1 attempt left")
    session.type(wrong)
    session.expect("Locked")
    session.send("\x11")  # ctrl+q: leaves the result at once
    assert session.wait(timeout=15) == 1
    assert MARKER not in session.text
    assert host.audit_lines()[-1]["event"] == "locked"
    # The lock is in the service user's ledger; lift it for the tests that follow.
    service, otp = host.names["SERVICE_USER"], str(host.paths["BIN"])
    run = host.as_user(service, otp, "--set", f"state.ledger={host.ledger_path}", "unlock",
                       "alice@example.com")  # fmt: skip
    assert run.returncode == 0, run.stderr


def test_the_gate_speaks_the_users_language(host: GateHost, login: Callable[..., Terminal]) -> None:
    # The client's LANG, through sshd and the sudoers line's env_keep: words only.
    before = len(host.relay.received)
    session = login(host.alice, "-o", "SetEnv=LANG=de_DE.UTF-8")
    session.expect("Code eingeben", timeout=30)
    code = host.relay.wait_for_code(before + 1)
    mail = host.relay.received[before]
    here = socket.gethostname()
    assert mail["Subject"] == f"Ihr Bestätigungscode für {here}"
    # A login's own words: who logs in where, and whom to tell if it was not them.
    for kind in ("plain", "html"):
        part = " ".join(mail.get_body(preferencelist=(kind,)).get_content().split())
        assert (
            f"Jemand meldet sich bei {here} als {host.alice} von 127.0.0.1 aus an; "
            "wenn Sie das nicht waren, wenden Sie sich an Ihren Administrator."
        ) in part
        assert "ignorieren" not in part
    session.type(code)
    session.expect("Bestätigt")
    session.send("\x11")
    session.expect(MARKER)
    assert session.wait(timeout=15) == 0
    assert host.audit_lines()[-1]["event"] == "verified"  # the audit trail's words stay


HOSTILE = [
    "OTP_TUI_SMTP__PORT={port}",
    "otp_tui_smtp__port={port}",
    "Otp_Tui_Smtp__Security=none",
    'OTP_TUI_SMTP={{"host":"127.0.0.1","port":{port},"security":"none"}}',
    "OTP_TUI_CONFIG=/dev/null",
    "PYTHONINSPECT=1",
    "PYTHONSTARTUP={evil}/startup.py",
    "PYTHONPATH={evil}",
    "TEXTUAL_DRIVER=evil:Driver",
]


def test_variables_the_client_sends_change_nothing(
    host: GateHost, login: Callable[..., Terminal]
) -> None:
    evil = host.root / "evil"
    (evil / "otp_tui").mkdir(parents=True, exist_ok=True)
    # Whatever of these ran would open the gate and print the marker itself.
    opener = "import os; os.write(2, b'GATE-' + b'OPEN\\n'); os._exit(0)\n"
    (evil / "otp_tui" / "__init__.py").write_text(opener)
    (evil / "otp_tui" / "__main__.py").write_text(opener)
    (evil / "startup.py").write_text(opener)
    (evil / "evil.py").write_text(opener)
    for path in [evil, *evil.rglob("*")]:
        path.chmod(0o755)
    sent = [item.format(port=host.attacker.port, evil=evil) for item in HOSTILE]
    # One SetEnv option (ssh keeps only the first of repeated ones), split like a shell's
    # words: single quotes keep a JSON value's double quotes.
    words = " ".join("{}='{}'".format(*item.split("=", 1)) for item in sent)
    options = ["-o", f"SetEnv={words}"]

    # Through the gate with the right code: the shell behind it shows that every variable did
    # arrive in the session, so what follows is not a test of an sshd that dropped them.
    before = len(host.relay.received)
    session = login(host.alice, *options, command=f"env | sort; {OPEN}")
    session.expect("Enter the code", timeout=30)
    code = host.relay.wait_for_code(before + 1)
    assert host.attacker.received == []
    assert host.attacker.connections == []
    session.type(code)
    session.expect("Verified")
    session.send("\x11")  # ctrl+q: leaves the result at once
    session.expect(MARKER)
    assert session.wait(timeout=15) == 0
    shell_env = session.text.replace("\r", "").splitlines()
    for item in sent:
        name = item.split("=", 1)[0]
        assert any(line.startswith(name + "=") for line in shell_env), name

    # And without the code the gate stays shut: quitting is exit 1, no prompt, no marker.
    before = len(host.relay.received)
    session = login(host.alice, *options)
    session.expect("Enter the code", timeout=30)
    host.relay.wait_for_code(before + 1)
    session.send("\x11")  # ctrl+q: give up
    assert session.wait(timeout=15) == 1
    assert MARKER not in session.text
    assert ">>>" not in session.text
    assert host.attacker.received == []
    assert host.attacker.connections == []


def test_a_user_with_no_address_gets_one_line_and_stays_outside(
    host: GateHost, login: Callable[..., Terminal]
) -> None:
    session = login(host.bob)
    session.expect(f"no email address on file for {host.bob}", timeout=30)
    assert session.wait(timeout=15) == 1
    assert MARKER not in session.text


def test_without_a_terminal_the_gate_stays_shut(host: GateHost) -> None:
    import subprocess

    run = subprocess.run(
        host.ssh_argv(host.alice, "-T", OPEN),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode != 0
    assert MARKER not in run.stdout + run.stderr


def test_a_bashrc_that_runs_the_command_no_longer_opens_the_gate(
    host: GateHost, login: Callable[..., Terminal]
) -> None:
    import os
    import pwd

    # The gated users' login shell is the recipe's wrapper, so sshd runs the forced command
    # without bash, and no file of the user's is read before the gate.
    assert pwd.getpwnam(host.bob).pw_shell == str(host.paths["GATE"])
    # What a user who once got in could leave behind: bash reads it under sshd, before the
    # forced command, when bash is the login shell. (bob has no address: the gate, if it runs,
    # refuses him at once, whatever the budgets.)
    home = host.root / "home" / host.bob
    trap = 'if [ -n "$SSH_ORIGINAL_COMMAND" ]; then exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"; fi\n'
    owner = pwd.getpwnam(host.bob)
    names = (".bashrc", ".bash_profile", ".profile")
    for name in names:
        (home / name).write_text(trap)
        os.chown(home / name, owner.pw_uid, owner.pw_gid)  # the user's own files
    try:
        session = login(host.bob)
        session.expect(f"no email address on file for {host.bob}", timeout=30)
        assert session.wait(timeout=15) == 1
        assert MARKER not in session.text
    finally:
        for name in names:
            (home / name).unlink(missing_ok=True)


def test_an_acl_that_lets_the_user_write_the_addresses_file_shuts_the_gate(
    host: GateHost, login: Callable[..., Terminal]
) -> None:
    import subprocess

    addresses = host.paths["ETC"] / "addresses"
    subprocess.run(["setfacl", "-m", f"u:{host.alice}:rw", str(addresses)], check=True)
    try:
        session = login(host.alice)
        session.expect(
            f"addresses_file {addresses} can be changed by {host.alice}; the gate refuses it",
            timeout=30,
        )
        assert session.wait(timeout=15) == 2
        assert MARKER not in session.text
    finally:
        subprocess.run(["setfacl", "-b", str(addresses)], check=True)


def test_state_kept_elsewhere_still_names_the_caller_right(
    host: GateHost, login: Callable[..., Terminal]
) -> None:
    import os
    import pwd

    # [state] puts the ledger and the trail in a folder of their own, and [gate] state_dir
    # names a folder that does not exist: the service user is the trail folder's owner.
    config = host.paths["ETC"] / "config.toml"
    original = config.read_text()
    elsewhere = host.root / "state-elsewhere"
    elsewhere.mkdir(mode=0o700)
    service = pwd.getpwnam(host.names["SERVICE_USER"])
    os.chown(elsewhere, service.pw_uid, service.pw_gid)
    changed = original.replace(
        "[state]\n",
        f'[state]\nledger = "{elsewhere}/ledger.sqlite3"\naudit_log = "{elsewhere}/audit.jsonl"\n',
    ).replace(f'state_dir = "{host.paths["STATE"]}"', f'state_dir = "{host.root}/absent"')
    assert changed.count("state-elsewhere") == 2
    assert "absent" in changed
    config.write_text(changed)
    try:
        before = len(host.relay.received)
        session = login(host.alice)
        session.expect("Enter the code", timeout=30)
        host.relay.wait_for_code(before + 1)
        session.send("\x11")  # ctrl+q: give up
        assert session.wait(timeout=15) == 1
        assert "can be changed by" not in session.text
        lines = (elsewhere / "audit.jsonl").read_text()
        assert f'"user": "{host.alice}"' in lines
    finally:
        config.write_text(original)


def test_the_recipe_takes_only_the_locale_from_a_gated_users_client(
    host: GateHost, login: Callable[..., Terminal]
) -> None:
    import subprocess

    from gate_host import SSHD

    assert SSHD is not None
    config = host.root / "sshd" / "sshd_config"

    def accepted(user: str) -> list[str]:
        run = subprocess.run(
            [SSHD, "-T", "-f", str(config), "-C", f"user={user},host=localhost,addr=127.0.0.1"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return [line.split(None, 1)[1] for line in run.stdout.splitlines()
                if line.startswith("acceptenv ")]  # fmt: skip

    # The main config accepts everything; the recipe's Match block narrows it for bob, so a
    # client-sent LD_PRELOAD never reaches his wrapper. (alice is widened again by the test.)
    assert accepted(host.bob) == ["LANG", "LC_*"]
    assert "*" in accepted(host.alice)

    # And live: a preload sent by the client would make the loader complain in the wrapper's
    # shell (the library does not exist); it never gets there.
    session = login(host.bob, "-o", "SetEnv=LD_PRELOAD=/nonexistent/otp-preload.so")
    session.expect(f"no email address on file for {host.bob}", timeout=30)
    assert session.wait(timeout=15) == 1
    assert "otp-preload" not in session.text
