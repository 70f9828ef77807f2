"""Every file and program the gate relies on gets one check, ACLs included, and every secret
the privacy rule; each refusal is one line naming what it refused.

Real files and the real user `nobody` (created by the system, never changed here); root is
needed to give files to another user and to set ACLs for them (`setfacl`, the acl package).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from otp_tui.config.gate_settings import load_gate_settings
from otp_tui.gate.invoker import Invoker
from otp_tui.gate.refusal import GateRefusal
from otp_tui.gate.run import check_files, gate_settings, service_uid
from otp_tui.gate.trust import acl_grants_write, writable_link

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 and os.environ.get("CI") != "true",
    reason="needs root to give files to another user and to set ACLs for them",
)

BASE = """[smtp]
host = "127.0.0.1"
username = "gate@example.com"
{smtp}
[sender]
address = "gate@example.com"
[state]
ledger = "{state}/ledger.sqlite3"
audit_log = "{state}/audit.jsonl"
{state_extra}
[gate]
addresses_file = "{etc}/addresses"
{gate}
{mail}
"""


@pytest.fixture
def nobody() -> Invoker:
    entry = pwd.getpwnam("nobody")
    return Invoker("nobody", entry.pw_uid, frozenset(os.getgrouplist("nobody", entry.pw_gid)))


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    tmp_path.chmod(0o755)
    folder = tmp_path / "etc"
    folder.mkdir(mode=0o755)
    (folder / "addresses").write_text("alice alice@example.com\n")
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    return folder


def _settings(etc: Path, *, smtp: str = 'password_file = "{etc}/pw"', state_extra: str = "",
              gate: str = "", mail: str = "", mode: int = 0o640):  # fmt: skip
    secret = etc / "pw"
    if not secret.exists():
        secret.write_text("relay-secret\n")
        secret.chmod(0o600)
    config = etc / "config.toml"
    config.write_text(
        BASE.format(
            smtp=smtp.format(etc=etc),
            state=etc.parent / "state",
            state_extra=state_extra.format(etc=etc),
            etc=etc,
            gate=gate.format(etc=etc),
            mail=mail.format(etc=etc),
        )
    )
    config.chmod(mode)
    return gate_settings(load_gate_settings(str(config))), config


def _refusal(etc: Path, user: Invoker, **kwargs: object) -> str:
    settings, config = _settings(etc, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(GateRefusal) as raised:
        check_files(settings, config, user)
    line = str(raised.value)
    assert "\n" not in line
    return line


def _script(path: Path, body: str = "echo secret") -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_a_sound_setup_passes(etc: Path, nobody: Invoker) -> None:
    script = _script(etc / "token")
    settings, config = _settings(
        etc, smtp=f'oauth2_token_command = ["{script}"]', gate=f'address_command = ["{script}"]'
    )
    check_files(settings, config, nobody)


@pytest.mark.parametrize("key", ["password_command", "oauth2_token_command"])
def test_a_secret_command_the_user_can_change_is_refused(
    etc: Path, nobody: Invoker, key: str
) -> None:
    script = _script(etc / "helper")
    os.chown(script, nobody.uid, -1)
    line = _refusal(etc, nobody, smtp=f'{key} = ["{script}"]')
    assert line == f"smtp.{key} {script} can be changed by nobody; the gate refuses it"


def test_the_script_an_interpreter_runs_is_checked_too(etc: Path, nobody: Invoker) -> None:
    script = etc / "helper.py"
    script.write_text("print('secret')\n")
    os.chown(script, nobody.uid, -1)
    line = _refusal(etc, nobody, smtp=f'password_command = ["{sys.executable}", "{script}"]')
    assert f"smtp.password_command {script} can be changed by nobody" in line


def test_a_program_named_bare_is_checked_where_the_gate_would_find_it(
    etc: Path, nobody: Invoker
) -> None:
    # `sh` is found on the gate's fixed PATH, and /usr/bin/sh is root's: it passes.
    settings, config = _settings(etc, smtp='password_command = ["sh", "-c", "echo x"]')
    check_files(settings, config, nobody)


def test_the_folder_of_a_program_counts(etc: Path, nobody: Invoker) -> None:
    bin_dir = etc / "bin"
    bin_dir.mkdir()
    script = _script(bin_dir / "lookup")
    os.chown(bin_dir, nobody.uid, -1)
    line = _refusal(etc, nobody, gate=f'address_command = ["{script}", "%u"]')
    assert line == (
        f"address_command {script} can be changed by nobody (through {bin_dir}); "
        "the gate refuses it"
    )


def _templates(etc: Path) -> Path:
    folder = etc / "templates"
    folder.mkdir()
    (folder / "body.txt").write_text("Your code: {{ code }}\n")
    return folder


def test_a_symbolic_link_in_the_templates_folder_is_refused(etc: Path, nobody: Invoker) -> None:
    folder = _templates(etc)
    (folder / "pw").symlink_to(etc / "pw")  # owned by root: only the link itself is the issue
    line = _refusal(etc, nobody, mail=f'[mail]\ntemplates = "{folder}"')
    assert line == (
        f"mail.templates {folder / 'pw'} is a symbolic link; the gate follows none in that folder"
    )


def test_a_template_the_user_can_change_is_refused(etc: Path, nobody: Invoker) -> None:
    folder = _templates(etc)
    (folder / "de").mkdir()
    inner = folder / "de" / "body.txt"
    inner.write_text("Ihr Code: {{ code }}\n")
    os.chown(inner, nobody.uid, -1)
    line = _refusal(etc, nobody, mail=f'[mail]\ntemplates = "{folder}"')
    assert line == f"mail.templates {inner} can be changed by nobody; the gate refuses it"


def _setfacl(*args: str) -> None:
    subprocess.run(["setfacl", *args], check=True)


@pytest.mark.skipif(
    shutil.which("setfacl") is None and os.environ.get("CI") != "true",
    reason="the acl package is not installed (.ci/run installs it)",
)
@pytest.mark.parametrize("entry", ["u:nobody:rw", "g:{group}:w", "u:nobody:rwx"])
def test_an_acl_that_grants_the_user_write_is_refused(
    etc: Path, nobody: Invoker, entry: str
) -> None:
    group = pwd.getpwnam("nobody").pw_gid
    addresses = etc / "addresses"
    _setfacl("-m", entry.format(group=group), str(addresses))
    assert acl_grants_write(addresses, nobody)
    assert writable_link(addresses, nobody) == addresses
    line = _refusal(etc, nobody)
    assert line == f"addresses_file {addresses} can be changed by nobody; the gate refuses it"


@pytest.mark.skipif(
    shutil.which("setfacl") is None and os.environ.get("CI") != "true",
    reason="the acl package is not installed (.ci/run installs it)",
)
def test_an_acl_on_a_folder_above_is_refused_and_a_read_acl_is_not(
    etc: Path, nobody: Invoker
) -> None:
    addresses = etc / "addresses"
    _setfacl("-m", "u:nobody:r", str(addresses))
    assert not acl_grants_write(addresses, nobody)
    _setfacl("-m", "u:nobody:rwx", str(etc))
    line = _refusal(etc, nobody)
    assert f"(through {etc})" in line


def test_a_redis_password_file_open_to_others_is_refused(etc: Path, nobody: Invoker) -> None:
    secret = etc / "redis-pw"
    secret.write_text("redis-secret\n")
    secret.chmod(0o644)
    line = _refusal(
        etc,
        nobody,
        state_extra=f'ledger_password_file = "{secret}"',
    )
    assert line.startswith(f"state.ledger_password_file {secret} holds a secret and is open")
    assert "redis-secret" not in line


def test_a_redis_url_with_a_password_in_a_readable_config_is_refused(
    etc: Path, nobody: Invoker
) -> None:
    settings, config = _settings(etc, mode=0o644)
    url = "redis://gate:redis-secret@127.0.0.1:6379/0"
    settings = settings.model_copy(
        update={"state": settings.state.model_copy(update={"ledger": url})}
    )
    with pytest.raises(GateRefusal) as raised:
        check_files(settings, config, nobody)
    assert str(raised.value).startswith(f"the config file {config} holds a secret")
    assert "redis-secret" not in str(raised.value)
    config.chmod(0o600)
    check_files(settings, config, nobody)


def test_a_missing_state_folder_is_its_own_line(etc: Path) -> None:
    settings, _config = _settings(etc)
    (etc.parent / "state").rmdir()
    with pytest.raises(GateRefusal) as raised:
        service_uid(settings)
    assert str(raised.value) == (
        f"the gate's state folder {etc.parent / 'state'} cannot be used: No such file or "
        "directory; create it, owned by the service user"
    )


def test_the_service_user_is_the_owner_of_the_state_folder_wherever_it_is(
    etc: Path, nobody: Invoker
) -> None:
    # [state] names the ledger and the trail elsewhere; [gate] state_dir is absent.
    settings, _config = _settings(etc, gate=f'state_dir = "{etc.parent}/absent"')
    os.chown(etc.parent / "state", nobody.uid, -1)
    assert service_uid(settings) == nobody.uid


def test_a_gate_that_sudo_runs_as_someone_else_says_so(
    etc: Path, nobody: Invoker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from otp_tui.gate.run import require_run_as_service

    settings, _config = _settings(etc)
    state = etc.parent / "state"  # root's: the service user here is root
    monkeypatch.setenv("SUDO_USER", "somebody")
    with pytest.raises(GateRefusal) as raised:
        require_run_as_service(settings, service_uid(settings), nobody.uid)
    assert str(raised.value) == (
        f"otp-tui gate runs as nobody, but its state folder {state} belongs to root;"
        " sudo must run it as root"
    )
    require_run_as_service(settings, service_uid(settings), 0)  # root may stand in
    monkeypatch.delenv("SUDO_USER")
    require_run_as_service(settings, service_uid(settings), nobody.uid)  # not under sudo


@pytest.mark.parametrize(
    ("key", "section"),
    [
        ("state.ledger_ca_file", 'ledger_ca_file = "{path}"'),
        ("state.ledger_password_file", 'ledger_password_file = "{path}"'),
    ],
)
def test_a_redis_file_the_user_can_change_is_refused(
    etc: Path, nobody: Invoker, key: str, section: str
) -> None:
    path = etc / "redis-file"
    path.write_text("x\n")
    path.chmod(0o600)
    os.chown(path, nobody.uid, -1)
    line = _refusal(etc, nobody, state_extra=section.format(path=path))
    assert line == f"{key} {path} can be changed by nobody; the gate refuses it"


@pytest.mark.parametrize(("mode", "owner"), [(0o644, "root"), (0o600, "nobody")])
def test_a_sentinel_password_file_open_to_others_or_the_users_is_refused(
    etc: Path, nobody: Invoker, monkeypatch: pytest.MonkeyPatch, mode: int, owner: str
) -> None:
    sentinels = 'ledger = "redis+sentinel://127.0.0.1:26379/otp"'
    monkeypatch.setitem(
        globals(), "BASE", BASE.replace('ledger = "{state}/ledger.sqlite3"', sentinels)
    )
    path = etc / "sentinel-pw"
    path.write_text("sentinel-secret\n")
    path.chmod(mode)
    os.chown(path, pwd.getpwnam(owner).pw_uid, -1)
    line = _refusal(etc, nobody, state_extra=f'ledger_sentinel_password_file = "{path}"')
    assert line.startswith(f"state.ledger_sentinel_password_file {path} ")
    assert "sentinel-secret" not in line
