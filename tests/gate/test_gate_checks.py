"""What `otp-tui gate` refuses before any mail is sent: an interpreter that hands control to
the user, configuration from anywhere but the operator's file, sudo variables that do not add
up, and files the invoking user could change or others could read."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from otp_tui.config.gate_settings import load_gate_settings
from otp_tui.config.sources import ConfigError
from otp_tui.gate.interpreter import interpreter_problems, kept_environment
from otp_tui.gate.invoker import Invoker, invoking_user
from otp_tui.gate.refusal import GateRefusal
from otp_tui.gate.trust import require_private, require_unchangeable, writable_link

ROOT = Path(__file__).resolve().parents[2]
GOOD = """[smtp]
host = "127.0.0.1"
[sender]
address = "gate@example.com"
"""


def _gate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # -I runs (isolated, as the README's wrapper) find the checkout through the working
    # directory; the others through PYTHONPATH.
    base = {"PATH": os.environ["PATH"]}
    if "-I" not in args:
        base["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, *args],
        env={**base, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


# --- the interpreter ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["-i", "-m", "otp_tui", "gate"], {}),
        (["-m", "otp_tui", "gate"], {"PYTHONINSPECT": "1"}),
        (["-m", "otp_tui", "gate"], {"PYTHONSTARTUP": "/tmp/x.py"}),
        (["-m", "otp_tui", "gate"], {"PYTHONWARNINGS": "ignore::evil.Category"}),
        (["-m", "otp_tui", "gate"], {"LD_PRELOAD": ""}),
    ],
)
def test_an_interpreter_that_hands_over_control_is_refused_with_exit_2(
    args: list[str], env: dict[str, str]
) -> None:
    # PYTHONPATH is set for every run here (the checkout), so it is refused in each as well;
    # the line for the case under test must be there, and the exit must stay 2 even under -i,
    # where a plain exit would fall into a prompt that EOF ends with status 0.
    run = _gate(*args, env=env)
    assert run.returncode == 2, run
    assert ">>>" not in run.stdout + run.stderr
    assert "otp-tui gate: PYTHONPATH is set" in run.stderr
    wanted = "started interactively" if "-i" in args else next(iter(env))
    assert wanted in run.stderr


def test_harmless_python_variables_and_plain_flags_pass() -> None:
    class Flags:
        inspect = 0
        interactive = 0

    assert interpreter_problems(Flags(), {"PYTHONUNBUFFERED": "1", "HOME": "/x"}) == []
    assert interpreter_problems(Flags(), {"PYTHONHOME": "/x"}) != []
    Flags.inspect = 1
    assert interpreter_problems(Flags(), {}) != []


def test_a_variable_name_with_escapes_is_shown_harmless() -> None:
    class Flags:
        inspect = interactive = 0

    (line,) = interpreter_problems(Flags(), {"PYTHON\x1b]0;x\x07": "1"})
    assert "\x1b" not in line
    assert "\\x1b" in line


def test_the_kept_environment_is_a_short_list() -> None:
    kept = kept_environment(
        {
            "TERM": "xterm",
            "LC_ALL": "C.UTF-8",
            "SSH_CONNECTION": "1.2.3.4 1 2 3",
            "SUDO_USER": "alice",
            "TEXTUAL_DRIVER": "evil:Driver",
            "OTP_TUI_SMTP__HOST": "evil",
            "otp_tui_smtp__host": "evil",
            "PATH": "/home/alice/bin",
            "HOME": "/home/alice",
            "LC_x": "y",
        },
        home="/var/lib/otp-tui",
    )
    assert kept == {
        "TERM": "xterm",
        "LC_ALL": "C.UTF-8",
        "SSH_CONNECTION": "1.2.3.4 1 2 3",
        "SUDO_USER": "alice",
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/var/lib/otp-tui",
    }


# --- the configuration --------------------------------------------------------------------


def test_gate_settings_ignore_every_otp_tui_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(GOOD)
    monkeypatch.setenv("OTP_TUI_SMTP__PORT", "2525")
    monkeypatch.setenv("otp_tui_smtp__host", "evil.example")
    monkeypatch.setenv("OTP_TUI_SMTP", '{"host": "evil.example", "port": 2525}')
    monkeypatch.setenv("Otp_Tui_Sender__Address", "evil@evil.example")
    monkeypatch.setenv("OTP_TUI_CONFIG", str(tmp_path / "elsewhere.toml"))
    settings = load_gate_settings(str(config))
    assert settings.smtp.host == "127.0.0.1"
    assert settings.smtp.port is None
    assert settings.sender.address == "gate@example.com"


def test_gate_settings_need_the_named_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_gate_settings(str(tmp_path / "absent.toml"))


def test_gate_config_keys_are_checked(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        GOOD
        + '[gate]\non_mail_failure = "maybe"\naddress_command = ["lookup", "%x"]\n'
        + "address_command_timeout = 0\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_gate_settings(str(config))
    text = "\n".join(raised.value.problems)
    assert "gate.on_mail_failure" in text
    assert "gate.address_command: must be a list whose first item is an absolute path" in text
    assert "gate.address_command_timeout" in text
    config.write_text(GOOD + '[gate]\naddress_command = ["/bin/lookup", "%x"]\n')
    with pytest.raises(ConfigError, match="only %u"):
        load_gate_settings(str(config))
    config.write_text(GOOD + '[gate]\naddress_command = ["/bin/lookup", "%%u", "%u"]\n')
    assert load_gate_settings(str(config)).gate.on_mail_failure == "deny"


@pytest.mark.parametrize(
    "args",
    [
        ["--set", "smtp.port=1", "gate"],
        ["--email", "a@example.com", "gate"],
        ["--demo", "gate"],
        ["--json", "gate"],
    ],
)
def test_gate_takes_no_option_but_config(args: list[str]) -> None:
    run = _gate("-I", "-c", "import sys; sys.path.insert(0, '.'); from otp_tui.cli import main; "
                "sys.exit(main(sys.argv[1:]))", *args)  # fmt: skip
    assert run.returncode == 2, run
    assert "gate takes no" in run.stderr


def test_gate_without_an_smtp_host_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[policy]\ncode_ttl = 300\n")
    run = _gate("-I", "-c", "import sys; sys.path.insert(0, '.'); from otp_tui.cli import main; "
                "sys.exit(main(sys.argv[1:]))", "gate", "--config", str(config))  # fmt: skip
    assert run.returncode == 2, run
    assert "gate mode needs [smtp] host" in run.stderr


# --- who is calling -----------------------------------------------------------------------


def _someone() -> pwd.struct_passwd:
    return pwd.getpwnam("nobody")


def test_under_sudo_the_caller_is_sudo_user_when_sudo_uid_agrees() -> None:
    nobody = _someone()
    env = {"SUDO_USER": "nobody", "SUDO_UID": str(nobody.pw_uid)}
    user = invoking_user(env, real_uid=4242, service_uid=4242)
    assert (user.name, user.uid) == ("nobody", nobody.pw_uid)
    assert nobody.pw_gid in user.groups


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SUDO_USER": "nobody", "SUDO_UID": "0"}, "is uid"),
        ({"SUDO_USER": "nobody"}, "must both be set"),
        ({"SUDO_UID": "0"}, "must both be set"),
        ({"SUDO_USER": "no-such-user-here", "SUDO_UID": "1"}, "not a known user"),
        ({"SUDO_USER": "nobody", "SUDO_UID": "x\x1b[2J"}, "not a known user"),
    ],
)
def test_sudo_variables_that_do_not_add_up_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(GateRefusal, match=message) as raised:
        invoking_user(env, real_uid=4242, service_uid=4242)
    assert "\x1b" not in str(raised.value)


def test_outside_the_service_user_sudo_variables_are_anyones_and_ignored() -> None:
    me = pwd.getpwuid(os.getuid())
    env = {"SUDO_USER": "nobody", "SUDO_UID": str(_someone().pw_uid)}
    if os.getuid() == 0:  # root may be the service user's stand-in: believe sudo then
        assert invoking_user(env, real_uid=0, service_uid=None).name == "nobody"
    user = invoking_user(env, real_uid=me.pw_uid, service_uid=me.pw_uid + 1)
    assert user.name == me.pw_name if me.pw_uid != 0 else user.name == "nobody"
    assert invoking_user({}, real_uid=me.pw_uid, service_uid=None).name == me.pw_name


# --- the files ----------------------------------------------------------------------------


@pytest.fixture
def nobody() -> Invoker:
    entry = _someone()
    return Invoker("nobody", entry.pw_uid, frozenset(os.getgrouplist("nobody", entry.pw_gid)))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "etc"
    path.mkdir(mode=0o755)
    return path


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give files to another user")
def test_a_file_the_user_owns_or_may_write_is_refused(folder: Path, nobody: Invoker) -> None:
    config = folder / "config.toml"
    config.write_text(GOOD)
    config.chmod(0o644)
    assert writable_link(config, nobody) is None
    require_unchangeable(config, "the config file", nobody)

    os.chown(config, nobody.uid, -1)
    with pytest.raises(GateRefusal, match="can be changed by nobody"):
        require_unchangeable(config, "the config file", nobody)
    os.chown(config, 0, -1)

    config.chmod(0o646)
    assert writable_link(config, nobody) == config
    config.chmod(0o664)
    os.chown(config, -1, next(iter(nobody.groups)))
    assert writable_link(config, nobody) == config
    os.chown(config, -1, 0)
    config.chmod(0o644)

    os.chown(folder, nobody.uid, -1)  # the directory: they could swap the file
    with pytest.raises(GateRefusal, match=r"through .*etc"):
        require_unchangeable(config, "the config file", nobody)
    os.chown(folder, 0, -1)

    link = folder / "link.toml"
    link.symlink_to(config)
    os.lchown(link, nobody.uid, -1)
    assert writable_link(link, nobody) == link


def test_root_may_change_anything_and_is_not_refused(folder: Path) -> None:
    config = folder / "config.toml"
    config.write_text(GOOD)
    config.chmod(0o666)
    require_unchangeable(config, "the config file", Invoker("root", 0, frozenset({0})))


@pytest.mark.parametrize(
    ("mode", "refused"),
    [(0o600, False), (0o400, False), (0o640, True), (0o604, True), (0o620, True)],
)
def test_a_secret_open_to_group_or_others_is_refused(
    folder: Path, mode: int, refused: bool
) -> None:
    secret = folder / "password"
    secret.write_text("hunter2\n")
    secret.chmod(mode)
    if refused:
        with pytest.raises(GateRefusal, match="holds a secret") as raised:
            require_private(secret, "smtp.password_file")
        assert "hunter2" not in str(raised.value)
    else:
        require_private(secret, "smtp.password_file")
