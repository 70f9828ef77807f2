"""The sudoers rule that runs the gate, as `sudo -l -U USER` reports it for a gated user.

`sudo -l -U` prints what sudo would apply to that user, whatever file it came from: the
matching Defaults, the command-specific ones (`Defaults!/usr/local/bin/otp-tui env_reset, ...`)
and every command the user may run. The rule must run exactly `BIN gate --config CONFIG` as the
service user (a command without arguments in sudoers allows any arguments), with env_reset in
force and env_keep limited to what the recipe keeps; the user may run nothing else as the
service user (which would reach the relay's password and the ledger).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from otp_tui.doctor.findings import Finding, ok, skipped, unsafe, warning

SUDO_PATH = "/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin"
# What the recipe keeps: where the login came from, and the words' language.
KEPT = frozenset({"SSH_CONNECTION", "LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES"})
_ENV_KEEP = re.compile(r'env_keep\s*\+?=\s*"?([^",]*)"?')


@dataclass
class SudoRights:
    defaults: list[str] = field(default_factory=list)  # global, in order
    command_defaults: dict[str, list[str]] = field(default_factory=dict)  # command -> items
    rules: list[tuple[str, str]] = field(default_factory=list)  # (runas, command line)


def _items(text: str) -> list[str]:
    """Split `a, b="x, y", c` at the commas outside quotes."""
    items, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            items.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        items.append(current.strip())
    return items


def parse_sudo_list(text: str) -> SudoRights:
    rights = SudoRights()
    section = ""
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith((" ", "\t")):
            lowered = line.lower()
            section = (
                "defaults"
                if lowered.startswith("matching defaults")
                else "command"
                if "command-specific defaults" in lowered
                else "rules"
                if "may run the following" in lowered
                else ""
            )
            continue
        body = line.strip()
        if section == "defaults":
            rights.defaults += _items(body)
        elif section == "command" and body.startswith("Defaults!"):
            command, _sep, items = body[len("Defaults!") :].partition(" ")
            rights.command_defaults.setdefault(command, []).extend(_items(items))
        elif section == "rules":
            found = re.match(r"\(([^)]*)\)\s*(?:[A-Z_]+:\s*)*(.*)", body)
            if found is None:
                continue
            runas = found.group(1).split(":")[0].strip()
            for command in _items(found.group(2)):
                rights.rules.append((runas, command))
    return rights


def sudo_rights(user: str, timeout: float = 20) -> SudoRights | str:
    sudo = shutil.which("sudo", path=SUDO_PATH)
    if sudo is None:
        return "sudo is not installed"
    try:
        run = subprocess.run(  # noqa: S603 - sudo by its full path, fixed arguments
            [sudo, "-n", "-l", "-U", user],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={"PATH": SUDO_PATH, "LC_ALL": "C"},
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"sudo -l could not run: {error}"
    if run.returncode != 0:
        return "sudo -l failed: " + (run.stderr.strip().splitlines() or ["(no message)"])[-1]
    return parse_sudo_list(run.stdout)


def _env_reset(items: list[str]) -> bool | None:
    """The last word on env_reset among `items`: True, False (!env_reset) or None."""
    state = None
    for item in items:
        if item == "env_reset":
            state = True
        elif item == "!env_reset":
            state = False
    return state


def check_sudoers(user: str, service_user: str, config: Path) -> list[Finding]:
    where = f"sudo -l -U {user}"
    rights = sudo_rights(user)
    if isinstance(rights, str):
        return [skipped("sudoers", f"sudo rights of {user}", where, rights)]
    wanted_args = f"gate --config {config}"
    gate_rules = [
        (runas, command) for runas, command in rights.rules if command.endswith(" " + wanted_args)
    ]
    findings: list[Finding] = []
    if not gate_rules:
        findings.append(
            unsafe(
                "sudoers.rule",
                f"no rule lets {user} run `otp-tui {wanted_args}`",
                where,
                "the gate cannot run as the service user, or runs with other arguments",
                f"the recipe's line: %GROUP ALL=({service_user}) NOPASSWD: BIN {wanted_args}",
            )
        )
        binary = None
    else:
        runas, command = gate_rules[0]
        binary = command[: -len(wanted_args) - 1]
        if runas != service_user:
            findings.append(
                unsafe(
                    "sudoers.runas",
                    f"the gate runs as {runas}, not {service_user}",
                    where,
                    "the gate's state and the relay's password must be the service user's alone",
                    f"({service_user}) in the rule",
                )
            )
        else:
            findings.append(ok("sudoers.rule", f"{user} may run `{command}` as {runas}", where))
    others = [
        (runas, command)
        for runas, command in rights.rules
        if (runas, command) not in gate_rules
        and (runas in (service_user, "ALL") or command == "ALL")
    ]
    for runas, command in others:
        findings.append(
            unsafe(
                "sudoers.other",
                f"{user} may also run `{command}` as {runas}",
                where,
                "anything else run as the service user reaches the relay's password, the ledger "
                "and the audit trail (a command without arguments allows any arguments)",
                "allow gated users exactly the recipe's command line and nothing else",
            )
        )
    if binary is None:
        return findings
    specific = rights.command_defaults.get(binary, [])
    reset = _env_reset(specific)
    if reset is None:
        reset = _env_reset(rights.defaults)
        if reset:
            findings.append(
                warning(
                    "sudoers.env_reset",
                    f"env_reset for {binary} only from the global Defaults",
                    where,
                    "a change to the global Defaults would hand the user's environment to the gate",
                    f'Defaults!{binary} env_reset, env_keep += "{" ".join(sorted(KEPT))}"',
                )
            )
    if reset is False or reset is None:
        findings.append(
            unsafe(
                "sudoers.env_reset",
                f"env_reset is off for {binary}",
                where,
                "the user's environment (PYTHONPATH, LD_PRELOAD, ...) reaches the gate",
                f"Defaults!{binary} env_reset (and never !env_reset)",
            )
        )
    elif _env_reset(specific):
        findings.append(ok("sudoers.env_reset", f"env_reset for {binary}", where))
    kept = {
        name
        for item in specific + rights.defaults
        for match in _ENV_KEEP.finditer(item)
        for name in match.group(1).split()
    }
    extra = sorted(kept - KEPT)
    if extra:
        findings.append(
            unsafe(
                "sudoers.env_keep",
                f"env_keep lets {' '.join(extra)} through to {binary}",
                where,
                "a variable the user sets reaches the gate's interpreter or its libraries",
                f"keep only {' '.join(sorted(KEPT))}",
            )
        )
    return findings
