"""`otp-tui doctor`'s run: the operator's config, the gated users, each check, the verdict.

Exit 0 when nothing is unsafe, 1 when something is, 2 when the config cannot be read.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from otp_tui.doctor.findings import (
    Finding,
    as_json,
    as_lines,
    is_safe,
    skipped,
    unsafe,
    warning,
)


@dataclass(frozen=True)
class DoctorOptions:
    config: str | None
    users: tuple[str, ...]
    sshd_config: Path
    addr: str
    host: str
    pam_services: tuple[Path, ...]
    services: bool  # the relay and the ledger (False: skip them, e.g. offline)


def pam_services_naming_the_module(folder: Path) -> tuple[Path, ...]:
    """The PAM service files in `folder` that mention the module, to check by default."""
    from otp_tui.doctor.pam_checks import MODULE

    found = []
    try:
        candidates = sorted(folder.iterdir())
    except OSError:
        return ()
    for path in candidates:
        try:
            if path.is_file() and MODULE in path.read_text(encoding="utf-8", errors="replace"):
                found.append(path)
        except OSError:
            continue
    return tuple(found)


def _gated_users(settings_file: Path, named: tuple[str, ...]) -> list[str]:
    from otp_tui.gate.addresses import _entries  # the gate's own reading of the file
    from otp_tui.gate.refusal import GateRefusal

    users = list(named)
    if not users and settings_file.exists():
        try:
            users = sorted(_entries(settings_file))
        except GateRefusal:
            users = []
    return users


def _service_user(state_dir: Path) -> str | None:
    try:
        return pwd.getpwuid(os.stat(state_dir).st_uid).pw_name
    except (OSError, KeyError):
        return None


def run_doctor(options: DoctorOptions, out: TextIO, err: TextIO, *, as_json_output: bool) -> int:
    from otp_tui.config.gate_settings import GATE_CONFIG_PATH, load_gate_settings
    from otp_tui.config.loading import ConfigError
    from otp_tui.config.schema import DEFAULT_ADDRESSES_FILE
    from otp_tui.doctor.file_checks import check_files
    from otp_tui.doctor.pam_checks import check_pam
    from otp_tui.doctor.service_checks import check_services
    from otp_tui.doctor.sshd_checks import ConnectionFacts, check_sshd
    from otp_tui.doctor.sudoers_checks import check_sudoers
    from otp_tui.gate.invoker import Invoker
    from otp_tui.gate.run import gate_settings

    config = Path(options.config) if options.config else GATE_CONFIG_PATH
    try:
        settings = gate_settings(load_gate_settings(str(config)))
    except ConfigError as error:
        for line in error.problems:
            err.write(f"otp-tui doctor: {line}\n")
        return 2
    findings: list[Finding] = []
    if os.geteuid() != 0:
        findings.append(
            warning("doctor", "not run as root", "euid " + str(os.geteuid()),
                    "sshd -T, sudo -l -U and the gate's files need root to be read",
                    "run it as root: sudo otp-tui doctor")
        )  # fmt: skip
    service_user = _service_user(settings.gate.state_dir)
    users = _gated_users(settings.gate.addresses_file or DEFAULT_ADDRESSES_FILE, options.users)
    if not users:
        findings.append(
            warning("users", "no gated user to check", str(config),
                    "sshd and sudo are checked per user", "name one with --user NAME")
        )  # fmt: skip
    pam_gated = False
    for name in users:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            findings.append(skipped("users", f"no account {name}", "passwd", "nothing to check"))
            continue
        user = Invoker(name, entry.pw_uid, frozenset(os.getgrouplist(name, entry.pw_gid)))
        facts = ConnectionFacts(name, options.host, options.addr)
        sshd = check_sshd(options.sshd_config, facts, entry.pw_shell)
        findings += sshd
        # The sudoers rule runs the ForceCommand gate; a user gated by PAM alone needs none.
        pam_only = any(f.check == "sshd.gate" and f.what.startswith("AuthenticationMethods")
                       for f in sshd)  # fmt: skip
        pam_gated = pam_gated or pam_only
        if service_user is not None and not pam_only:
            findings += check_sudoers(name, service_user, config)
        findings += check_files(settings, config, user)
    for service_file in options.pam_services:
        findings += check_pam(service_file)
    if pam_gated and not any(f.check == "pam.control" for f in findings):
        findings.append(
            unsafe("pam", "no PAM service file names pam_otp_tui.so",
                   ", ".join(map(str, options.pam_services)) or "/etc/pam.d",
                   "sshd asks PAM, and nothing in PAM asks for the code",
                   "run the README's PAM recipe for sshd (PAM_SERVICE=sshd), or name the "
                   "service file with --pam-service")
        )  # fmt: skip
    if options.services and service_user is not None:
        findings += check_services(settings, config, service_user)
    out.write(as_json(findings) if as_json_output else as_lines(findings))
    return 0 if is_safe(findings) else 1
