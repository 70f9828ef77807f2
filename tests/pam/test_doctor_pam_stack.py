"""`otp-tui doctor` on a host set up by the README's PAM recipe (with its sshd snippet): the
recipe passes; the module `optional`, a `sufficient` line above it, a helper others may change
and sshd letting a key alone in are each named.

The host is `pam_host.PamHost` (the recipe's script, word for word, on a PAM service file of
its own under /etc/pam.d). The doctor reads sshd through `sshd -T` on a config that includes
the recipe's snippet, as /etc/ssh/sshd_config includes sshd_config.d; no sshd needs to run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pam_host import PamHost

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def host(tls_certs: Any) -> Iterator[PamHost]:
    made = PamHost.create(tls_certs, sshd=True)
    try:
        yield made
    finally:
        made.close()


def sshd_config(host: PamHost, snippet: Path | None = None) -> Path:
    folder = host.root / "sshd"
    key = folder / "host_key"
    if not key.exists():
        keygen = shutil.which("ssh-keygen")
        assert keygen is not None
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    config = folder / "doctor_sshd_config"
    config.write_text(
        f"HostKey {key}\nPidFile none\nPasswordAuthentication no\nAcceptEnv LANG LC_*\n"
        f"Include {snippet or host.paths['SSHD_SNIPPET']}\n"
    )
    return config


def doctor(host: PamHost, sshd: Path | None = None) -> tuple[int, dict[str, Any]]:
    run = subprocess.run(
        [
            str(host.paths["PYTHON"]), "-m", "otp_tui", "doctor", "--json",
            "--config", str(host.etc / "config.toml"),
            "--sshd-config", str(sshd or sshd_config(host)),
            "--pam-service", str(host.pam_file),
        ],
        capture_output=True, text=True, timeout=180, check=False,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr
    record: dict[str, Any] = json.loads(run.stdout)
    return run.returncode, record


def unsafe(record: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["check"], f["what"]) for f in record["findings"] if f["status"] == "unsafe"]


def test_the_pam_recipe_passes(host: PamHost) -> None:
    status, record = doctor(host)
    assert unsafe(record) == []
    assert status == 0
    ok = {f["check"] for f in record["findings"] if f["status"] == "ok"}
    assert {"sshd.gate", "pam.control", "pam.socket", "pam.module"} <= ok  # the default mode
    assert "relay" in ok
    assert not any(check.startswith("sudoers") for check in ok)


@pytest.fixture
def restored_stack(host: PamHost) -> Iterator[Path]:
    saved = host.pam_file.read_text()
    try:
        yield host.pam_file
    finally:
        host.pam_file.write_text(saved)


def test_the_module_optional_is_named(host: PamHost, restored_stack: Path) -> None:
    text = restored_stack.read_text()
    restored_stack.write_text(text.replace("auth required", "auth optional"))
    status, record = doctor(host)
    assert status == 1
    assert ("pam.control", "pam_otp_tui.so is optional") in unsafe(record)


def test_a_sufficient_line_above_the_module_is_named(host: PamHost, restored_stack: Path) -> None:
    restored_stack.write_text("auth sufficient pam_permit.so\n" + restored_stack.read_text())
    status, record = doctor(host)
    assert status == 1
    assert ("pam.order", "line 1 (sufficient pam_permit.so) can end the stack first") in unsafe(
        record
    )


def test_a_helper_its_group_may_change_is_named(host: PamHost, restored_stack: Path) -> None:
    helper = host.paths["HELPER"]
    # The recipe's exec mode: the same line with the helper the module starts.
    text = restored_stack.read_text()
    restored_stack.write_text(
        text.replace(f"socket={host.paths['SOCKET']}", f"helper={helper} config={host.etc}/x")
    )
    status, record = doctor(host)
    assert ("pam.helper", f"helper={helper} is root's alone") in [
        (f["check"], f["what"]) for f in record["findings"] if f["status"] == "ok"
    ]
    helper.chmod(0o775)
    try:
        status, record = doctor(host)
    finally:
        helper.chmod(0o755)
    assert status == 1
    assert ("pam.helper", f"helper={helper} can be changed by others than root") in unsafe(record)


def test_a_socket_folder_others_may_write_is_named(host: PamHost) -> None:
    folder = host.paths["SOCKET"].parent
    folder.chmod(0o770)
    try:
        status, record = doctor(host)
    finally:
        folder.chmod(0o700)
    assert status == 1
    assert (
        "pam.socket",
        f"{folder} is not root's or {host.service_user}'s alone (mode 0770)",
    ) in unsafe(record)


def test_a_folder_others_may_write_above_the_socket_is_named(host: PamHost) -> None:
    above = host.paths["SOCKET"].parent.parent
    above.chmod(0o777)
    try:
        status, record = doctor(host)
    finally:
        above.chmod(0o755)
    assert status == 1
    folder = host.paths["SOCKET"].parent
    assert (
        "pam.socket",
        f"{above}, above {folder}, is not root's or {host.service_user}'s alone (mode 0777)",
    ) in unsafe(record)


def test_sshd_letting_a_key_alone_in_is_named(host: PamHost) -> None:
    loose = host.root / "sshd" / "loose.conf"
    methods = "AuthenticationMethods publickey,keyboard-interactive:pam publickey"
    loose.write_text(f"UsePAM yes\nKbdInteractiveAuthentication yes\n{methods}\n")
    status, record = doctor(host, sshd_config(host, loose))
    assert status == 1
    gate = [what for check, what in unsafe(record) if check == "sshd.gate"]
    assert gate == [
        f"no ForceCommand, and {methods} for {host.alice}",
    ]


def test_a_password_method_beside_the_pam_gate_is_named(host: PamHost) -> None:
    # With UsePAM, sshd's password method runs the same stack and answers the code's prompt with
    # the account password.
    loose = host.root / "sshd" / "password.conf"
    methods = "AuthenticationMethods password,keyboard-interactive:pam"
    loose.write_text(f"UsePAM yes\nKbdInteractiveAuthentication yes\n{methods}\n")
    config = sshd_config(host, loose)
    # The first value sshd reads wins: the base's "no" becomes "yes".
    config.write_text(
        config.read_text().replace("PasswordAuthentication no", "PasswordAuthentication yes")
    )
    status, record = doctor(host, config)
    assert status == 1
    named = [what for check, what in unsafe(record) if check == "sshd.password"]
    assert named == [f"{methods} for {host.alice} includes password"]
