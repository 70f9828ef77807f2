"""The relay and the ledger, as the gate would use them: `otp-tui check --json`, run as the
service user when the doctor runs as root.

Run as root in this process, the check would open (and so create) the ledger as root, and a
root-owned ledger stops every gate run; run as the service user it touches only what the gate
itself would, and reads the relay's password with the gate's own rights.
"""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otp_tui.doctor.findings import Finding, ok, skipped, warning

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings


def _run_check(settings: Settings, config: Path, service_user: str) -> dict[str, Any] | str:
    argv = [sys.executable, "-I", "-m", "otp_tui", "--config", str(config)]
    if settings.state.ledger_path is not None:
        argv += ["--set", f"state.ledger={settings.state.ledger_path}"]
    argv += ["check", "--json"]
    options: dict[str, Any] = {}
    if os.geteuid() == 0:
        try:
            entry = pwd.getpwnam(service_user)
        except KeyError:
            return f"no user {service_user}"
        options = {
            "user": entry.pw_uid,
            "group": entry.pw_gid,
            "extra_groups": os.getgrouplist(service_user, entry.pw_gid),
        }
        home = entry.pw_dir
    else:
        home = os.environ.get("HOME", "/")
    try:
        run = subprocess.run(  # noqa: S603 - this interpreter, isolated, fixed arguments
            argv,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "HOME": home, "LANG": "C.UTF-8"},
            **options,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"otp-tui check could not run: {error}"
    try:
        record: dict[str, Any] = json.loads(run.stdout)
    except ValueError:
        lines: list[str] = run.stderr.strip().splitlines() or ["otp-tui check printed nothing"]
        return lines[-1]
    return record


def check_services(settings: Settings, config: Path, service_user: str) -> list[Finding]:
    record = _run_check(settings, config, service_user)
    if isinstance(record, str):
        return [skipped("relay", "the relay and the ledger", f"otp-tui check as {service_user}",
                        record)]  # fmt: skip
    findings = []
    server = record.get("server") or {}
    where = f"{server.get('host')} port {server.get('port')} ({server.get('security')})"
    failed = [step for step in record["steps"] if step["status"] == "failed"]
    if not failed:
        findings.append(ok("relay", "the relay answers every step of otp-tui check", where))
    for step in failed:
        findings.append(
            warning(
                "relay",
                f"the relay fails at {step['step']} ({step.get('kind')})",
                where,
                step["message"] + "; the gate then mails no code and stays shut (or lets "
                'users in without mail under on_mail_failure = "allow")',
                step.get("fix") or "run otp-tui check for the details",
            )
        )
    ledger = record["ledger"]
    if ledger["ok"]:
        findings.append(ok("ledger", "the ledger opens and answers", ledger["message"]))
    else:
        findings.append(
            warning(
                "ledger",
                "the ledger cannot be used",
                ledger["message"],
                "every gate run stops (exit 2) until it can",
                "fix what the message names; otp-tui check repeats it",
            )
        )
    return findings
