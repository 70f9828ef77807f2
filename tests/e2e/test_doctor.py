"""`otp-tui doctor` on a host set up by the README's gate recipe, then with each misconfiguration
an attack review found or an operator is likely to make, seeded one at a time and undone.

The host (`gate_host.GateHost`) is real: users, a sudoers file, sshd's configuration with the
recipe's Match block, the operator's files with the recipe's owners and modes, a relay with
STARTTLS and AUTH. The doctor runs as root, as an operator runs it, and reads sshd through
`sshd -T` and sudo through `sudo -l -U`. The test host's own sshd accepts every variable on
purpose (`AcceptEnv *`, for the gate's tests); the doctor is pointed at a copy of that config
with Debian's `AcceptEnv LANG LC_*` for "the recipe passes", and at the original for the seed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gate_host import GateHost

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def host(tls_certs: Any) -> Iterator[GateHost]:
    gate = GateHost.create(tls_certs)
    try:
        yield gate
    finally:
        gate.close()


def sshd_config(host: GateHost, *, accept: str = "LANG LC_*", snippet: str | None = None) -> Path:
    """A copy of the host's sshd config with this AcceptEnv and, if given, this Match block."""
    original = host.root / "sshd" / "sshd_config"
    text = original.read_text().replace("AcceptEnv *", f"AcceptEnv {accept}")
    if snippet is not None:
        other = host.root / "sshd" / "seeded.conf"
        other.write_text(snippet)
        text = text.replace(str(host.paths["SSHD_SNIPPET"]), str(other))
    copy = host.root / "sshd" / "doctor_sshd_config"
    copy.write_text(text)
    return copy


def doctor(host: GateHost, *args: str, config: Path | None = None) -> tuple[int, dict[str, Any]]:
    run = subprocess.run(
        [
            str(host.python), "-m", "otp_tui", "doctor", "--json",
            "--config", str(host.paths["ETC"] / "config.toml"),
            "--sshd-config", str(config or sshd_config(host)),
            "--pam-service", str(host.root / "pam-none"),
            *args,
        ],
        capture_output=True, text=True, timeout=180, check=False,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr
    record: dict[str, Any] = json.loads(run.stdout)
    assert record["safe"] == (run.returncode == 0)
    return run.returncode, record


def unsafe(record: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["check"], f["what"]) for f in record["findings"] if f["status"] == "unsafe"]


def test_the_recipe_passes(host: GateHost) -> None:
    status, record = doctor(host)
    assert unsafe(record) == []
    assert status == 0
    checks = {f["check"] for f in record["findings"] if f["status"] == "ok"}
    for expected in (
        "sshd.forwarding", "sshd.permituserrc", "sshd.acceptenv", "sshd.permituserenvironment",
        "sshd.gate", "sshd.wrapper", "sshd.login_shell", "sudoers.rule", "sudoers.env_reset",
        "file.the_config_file", "file.addresses_file", "file.smtp.password_file", "relay", "ledger",
    ):  # fmt: skip
        assert expected in checks, expected


def test_accept_env_star_is_named(host: GateHost) -> None:
    status, record = doctor(host, config=sshd_config(host, accept="*"))
    assert status == 1
    assert ("sshd.acceptenv", f"AcceptEnv * for {host.alice}") in unsafe(record)


def _snippet(host: GateHost, *, drop: str, add: str = "") -> str:
    text = host.paths["SSHD_SNIPPET"].read_text()
    lines = [line for line in text.splitlines() if drop not in line]
    return "\n".join(lines) + ("\n    " + add if add else "") + "\n"


def test_permit_user_rc_yes_is_named(host: GateHost) -> None:
    seeded = sshd_config(host, snippet=_snippet(host, drop="PermitUserRC", add="PermitUserRC yes"))
    status, record = doctor(host, config=seeded)
    assert status == 1
    assert ("sshd.permituserrc", f"PermitUserRC yes for {host.alice}") in unsafe(record)


def test_forwarding_on_is_named(host: GateHost) -> None:
    seeded = sshd_config(host, snippet=_snippet(host, drop="DisableForwarding"))
    status, record = doctor(host, config=seeded)
    assert status == 1
    [(_check, what)] = [item for item in unsafe(record) if item[0] == "sshd.forwarding"]
    assert "allowtcpforwarding" in what


def test_no_force_command_is_named(host: GateHost) -> None:
    seeded = sshd_config(host, snippet=_snippet(host, drop="ForceCommand"))
    status, record = doctor(host, config=seeded)
    assert status == 1
    assert any(check == "sshd.gate" for check, _what in unsafe(record))


@pytest.fixture
def restored(host: GateHost) -> Iterator[GateHost]:
    """Whatever a test seeds in the operator's files or sudoers is put back afterwards."""
    etc, sudoers = host.paths["ETC"], host.paths["SUDOERS"]
    saved = {path: (path.read_bytes(), path.stat()) for path in etc.iterdir()}
    rules = sudoers.read_text()
    try:
        yield host
    finally:
        for path, (data, info) in saved.items():
            subprocess.run(["setfacl", "-b", str(path)], check=False, capture_output=True)
            path.chmod(0o600)
            path.write_bytes(data)
            path.chmod(info.st_mode & 0o7777)
        sudoers.write_text(rules)
        sudoers.chmod(0o440)


def test_a_group_writable_config_is_named(restored: GateHost) -> None:
    config = restored.paths["ETC"] / "config.toml"
    config.chmod(0o660)
    status, record = doctor(restored)
    assert status == 1
    found = [f for f in record["findings"] if f["status"] == "unsafe"]
    assert any(
        f["check"] == "file.the_config_file" and "writable by its group" in f["why"] for f in found
    )


def test_an_acl_on_the_addresses_file_is_named(restored: GateHost) -> None:
    if shutil.which("setfacl") is None:
        pytest.fail("setfacl is not installed; .ci/run installs acl")
    addresses = restored.paths["ETC"] / "addresses"
    subprocess.run(["setfacl", "-m", f"u:{restored.alice}:rw", str(addresses)], check=True)
    status, record = doctor(restored)
    assert status == 1
    found = [f for f in record["findings"] if f["status"] == "unsafe"]
    assert any(
        f["check"] == "file.addresses_file"
        and f"an ACL entry on {addresses} lets {restored.alice} write it" in f["why"]
        for f in found
    )


def _rewrite_defaults(host: GateHost, new: str) -> None:
    sudoers = host.paths["SUDOERS"]
    lines = sudoers.read_text().splitlines()
    lines[0] = new
    sudoers.write_text("\n".join(lines) + "\n")
    check = subprocess.run(["visudo", "-cqf", str(sudoers)], capture_output=True, check=False)
    assert check.returncode == 0, check.stderr


def test_a_sudoers_line_without_env_reset_is_named(restored: GateHost) -> None:
    binary = restored.paths["BIN"]
    _rewrite_defaults(restored, f'Defaults!{binary} env_keep += "SSH_CONNECTION LANG"')
    _status, record = doctor(restored)
    reset = [f for f in record["findings"] if f["check"] == "sudoers.env_reset"]
    assert [(f["status"], f["what"]) for f in reset] == [
        ("warning", f"env_reset for {binary} only from the global Defaults")
    ]
    _rewrite_defaults(restored, f"Defaults!{binary} !env_reset")
    status, record = doctor(restored)
    assert status == 1
    assert ("sudoers.env_reset", f"env_reset is off for {binary}") in unsafe(record)


def test_a_sudoers_env_keep_that_lets_pythonpath_through_is_named(restored: GateHost) -> None:
    binary = restored.paths["BIN"]
    _rewrite_defaults(restored, f'Defaults!{binary} env_reset, env_keep += "PYTHONPATH LANG"')
    status, record = doctor(restored)
    assert status == 1
    assert ("sudoers.env_keep", f"env_keep lets PYTHONPATH through to {binary}") in unsafe(record)


def test_the_pam_module_optional_or_after_a_sufficient_line_is_named(host: GateHost) -> None:
    module = host.root / "pam_otp_tui.so"
    module.write_bytes(b"")
    module.chmod(0o644)
    config = host.paths["ETC"] / "config.toml"
    line = f"{module} user={host.names['SERVICE_USER']} helper={host.python} config={config}"
    service = host.root / "pam-test"
    service.write_text(f"auth optional {line}\n")
    status, record = doctor(host, "--pam-service", str(service), "--no-relay")
    assert status == 1
    assert ("pam.control", "pam_otp_tui.so is optional") in unsafe(record)

    service.write_text(f"auth sufficient pam_unix.so\nauth required {line}\n")
    status, record = doctor(host, "--pam-service", str(service), "--no-relay")
    assert ("pam.order", "line 1 (sufficient pam_unix.so) can end the stack first") in unsafe(
        record
    )

    service.write_text(f"@include common-account\nauth required {line}\n")
    status, record = doctor(host, "--pam-service", str(service), "--no-relay")
    assert [f for f in record["findings"] if f["where"].startswith(str(service))] == [
        {"check": "pam.control", "status": "ok", "what": "pam_otp_tui.so is required",
         "where": f"{service}:2", "why": "", "fix": ""},
        {"check": "pam.helper", "status": "ok", "what": f"helper={host.python} is root's alone",
         "where": f"{service}:2", "why": "", "fix": ""},
        {"check": "pam.config", "status": "ok", "what": f"config={config} is root's alone",
         "where": f"{service}:2", "why": "", "fix": ""},
        {"check": "pam.module", "status": "ok", "what": f"{module} is root's",
         "where": f"{service}:2", "why": "", "fix": ""},
    ]  # fmt: skip
    assert status == 0


def test_anything_else_the_user_may_run_as_the_service_user_is_named(restored: GateHost) -> None:
    sudoers = restored.paths["SUDOERS"]
    service, group = restored.names["SERVICE_USER"], restored.names["GATED_GROUP"]
    sudoers.write_text(sudoers.read_text() + f"%{group} ALL=({service}) NOPASSWD: /usr/bin/cat\n")
    status, record = doctor(restored)
    assert status == 1
    assert ("sudoers.other", f"{restored.alice} may also run `/usr/bin/cat` as {service}") in (
        unsafe(record)
    )


def test_a_forced_command_others_may_change_is_named(host: GateHost) -> None:
    wrapper = host.paths["GATE"]
    wrapper.chmod(0o775)
    try:
        status, record = doctor(host, "--no-relay")
    finally:
        wrapper.chmod(0o755)
    assert status == 1
    assert ("sshd.wrapper", f"{wrapper} can be changed by others than root") in unsafe(record)


def test_a_login_shell_that_reads_bashrc_before_the_gate_is_named(host: GateHost) -> None:
    import pwd

    before = pwd.getpwnam(host.alice).pw_shell
    subprocess.run(["usermod", "-s", "/bin/bash", host.alice], check=True, capture_output=True)
    try:
        status, record = doctor(host, "--no-relay")
    finally:
        subprocess.run(["usermod", "-s", before, host.alice], check=True, capture_output=True)
    assert status == 1
    wrapper = host.paths["GATE"]
    assert (
        "sshd.login_shell",
        f"{host.alice}'s login shell is /bin/bash, not {wrapper}",
    ) in unsafe(record)


def test_a_user_gated_by_pam_needs_no_sudoers_rule_but_the_module(host: GateHost) -> None:
    snippet = _snippet(
        host, drop="ForceCommand", add="AuthenticationMethods publickey,keyboard-interactive:pam"
    )
    seeded = sshd_config(host, snippet=snippet)
    pam_on = seeded.read_text().replace("UsePAM no", "UsePAM yes")
    seeded.write_text(
        pam_on.replace("KbdInteractiveAuthentication no", "KbdInteractiveAuthentication yes")
    )
    status, record = doctor(host, "--no-relay", config=seeded)
    gate = [f for f in record["findings"] if f["check"] == "sshd.gate"]
    assert [(f["status"], f["what"]) for f in gate] == [
        ("ok", f"AuthenticationMethods publickey,keyboard-interactive:pam for {host.alice}")
    ]
    assert not [f for f in record["findings"] if f["check"].startswith("sudoers")]
    # This host has no PAM stack with the module: sshd would ask PAM, and PAM no code.
    assert unsafe(record) == [("pam", "no PAM service file names pam_otp_tui.so")]
    assert status == 1
