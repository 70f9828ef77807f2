"""The PAM stack of a service that uses otp-tui's module (`pam_otp_tui.so`).

A line `auth required /path/pam_otp_tui.so user=… helper=… config=…` (or `socket=…` for the
helper service) is safe when the module file is there and root's alone, what it runs and
reads root's alone (or the socket's folder and those above it the service user's or
root's, writable by no one else), its control is `required` or `requisite` (`optional` or
`sufficient` lets a failed code through), and no auth line before it can end the stack with
success first (`sufficient`, or an action such as `success=done`), which would skip the code.
"""

from __future__ import annotations

import os
import pwd
import re
import stat
from pathlib import Path

from otp_tui.doctor.file_checks import root_only
from otp_tui.doctor.findings import Finding, ok, skipped, unsafe

MODULE = "pam_otp_tui.so"
_ENDS_EARLY = re.compile(r"\bsuccess=(?:done|\d+)|\bdone\b")


def _auth_lines(path: Path) -> list[tuple[int, str, str, str]]:
    """(line number, control, module, arguments) of each auth line, as written."""
    lines = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        found = re.match(r"-?(\w+)\s+(\[[^\]]*\]|\S+)\s+(\S+)\s*(.*)", text)
        if found is None or found.group(1) != "auth":
            continue
        lines.append((number, found.group(2), found.group(3), found.group(4)))
    return lines


def check_pam(service_file: Path) -> list[Finding]:
    where = str(service_file)
    try:
        lines = _auth_lines(service_file)
    except OSError as error:
        return [skipped("pam", "the PAM stack", where, error.strerror or str(error))]
    ours = [line for line in lines if Path(line[2]).name == MODULE]
    if not ours:
        return [skipped("pam", f"no {MODULE} line", where, "this service does not use the module")]
    number, control, module, arguments = ours[0]
    here = f"{service_file}:{number}"
    findings = []
    if control in ("required", "requisite"):
        findings.append(ok("pam.control", f"{MODULE} is {control}", here))
    else:
        findings.append(
            unsafe(
                "pam.control",
                f"{MODULE} is {control}",
                here,
                "a wrong or missing code does not fail the authentication",
                f"auth required {module} ...",
            )
        )
    for earlier, early_control, early_module, _args in lines:
        if earlier >= number:
            break
        if early_control == "sufficient" or _ENDS_EARLY.search(early_control):
            findings.append(
                unsafe(
                    "pam.order",
                    f"line {earlier} ({early_control} {early_module}) can end the stack first",
                    here,
                    "a success there skips the code",
                    f"move the {MODULE} line above it, or make it required",
                )
            )
    findings += _check_arguments(arguments, here)
    path = Path(module) if module.startswith("/") else None
    if path is None:
        findings.append(ok("pam.module", f"{module} from the system's module folder", here))
        return findings
    try:
        info = os.stat(path)
    except OSError as error:
        findings.append(
            unsafe("pam.module", f"{module} is missing", here,
                   f"PAM cannot load it ({error.strerror})", "build and install the module")
        )  # fmt: skip
        return findings
    if info.st_uid != 0 or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        findings.append(
            unsafe(
                "pam.module",
                f"{module} is not root's alone (mode {stat.S_IMODE(info.st_mode):04o})",
                here,
                "whoever can change it decides every login",
                f"chown root:root {module}; chmod 0644 {module}",
            )
        )
    else:
        findings.append(ok("pam.module", f"{module} is root's", here))
    return findings


def _check_socket(socket: str, user: str | None, here: str) -> Finding:
    """The helper service's socket: its folder (resolved, as the module resolves it) decides
    who may listen there, and the folders above it who could put another folder in its place;
    the module checks both, and the listener's uid too, and refuses logins when one is wrong;
    this says why beforehand."""
    try:
        owner = pwd.getpwnam(user).pw_uid if user else None
    except KeyError:
        owner = None
    folder = Path(os.path.realpath(Path(socket).parent))
    try:
        info = os.lstat(folder)
    except OSError as error:
        return unsafe("pam.socket", f"{folder} is missing", here,
                      f"the module refuses every login ({error.strerror})",
                      "start the helper service (its unit makes the folder)")  # fmt: skip
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid not in (0, owner) or mode & 0o022:
        return unsafe(
            "pam.socket",
            f"{folder} is not root's or {user}'s alone (mode {mode:04o})",
            here,
            "someone else could listen there; the module refuses every login",
            f"chown {user}: {folder}; chmod 0700 {folder}",
        )
    for above in folder.parents:
        info = os.lstat(above)
        mode = stat.S_IMODE(info.st_mode)
        sticky = info.st_uid == 0 and mode & stat.S_ISVTX
        if info.st_uid not in (0, owner) or (mode & 0o022 and not sticky):
            return unsafe(
                "pam.socket",
                f"{above}, above {folder}, is not root's or {user}'s alone (mode {mode:04o})",
                here,
                "someone else could put another folder in its place; the module refuses "
                "every login",
                f"move the socket, or chown root: {above}; chmod go-w {above}",
            )
    return ok("pam.socket", f"socket={socket} is in a folder of {user} or root alone", here)


def _check_arguments(arguments: str, here: str) -> list[Finding]:
    """The module's helper= and config=: what it runs and what that reads, root's alone."""
    values = dict(item.partition("=")[::2] for item in arguments.split())
    findings = []
    if "socket" in values:
        findings.append(_check_socket(values["socket"], values.get("user"), here))
    for key in ("helper", "config"):
        value = values.get(key)
        if value is None:
            continue
        problem = root_only(Path(value))
        if problem is None:
            findings.append(ok(f"pam.{key}", f"{key}={value} is root's alone", here))
        else:
            why, fix = problem
            findings.append(
                unsafe(
                    f"pam.{key}",
                    f"{key}={value} can be changed by others than root",
                    here,
                    why + ": whoever changes it decides every login",
                    fix,
                )
            )
    return findings
