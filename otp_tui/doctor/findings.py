"""One finding: what was checked, where, whether it is safe, why it matters and the fix."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

from otp_tui.core.untrusted import visible

Status = Literal["ok", "unsafe", "warning", "skipped"]

_SHOWN = {"ok": "ok     ", "unsafe": "UNSAFE ", "warning": "warning", "skipped": "skipped"}


@dataclass(frozen=True)
class Finding:
    check: str  # a stable name: sshd.acceptenv, sudoers.env_reset, file.addresses_file, ...
    status: Status
    what: str  # what was found, in a few words
    where: str  # the file, user or command it was read from
    why: str = ""  # why it matters (empty for ok)
    fix: str = ""  # what to change (empty for ok)

    def line(self) -> str:
        text = f"{_SHOWN[self.status]} {self.what} ({self.where})"
        if self.why:
            text += f": {self.why}"
        if self.fix:
            text += f"; fix: {self.fix}"
        return visible(text)  # paths, user names and sudo's or sshd's words come from outside


def ok(check: str, what: str, where: str) -> Finding:
    return Finding(check, "ok", what, where)


def unsafe(check: str, what: str, where: str, why: str, fix: str) -> Finding:
    return Finding(check, "unsafe", what, where, why, fix)


def warning(check: str, what: str, where: str, why: str, fix: str) -> Finding:
    return Finding(check, "warning", what, where, why, fix)


def skipped(check: str, what: str, where: str, why: str) -> Finding:
    return Finding(check, "skipped", what, where, why)


def is_safe(findings: Iterable[Finding]) -> bool:
    return not any(finding.status == "unsafe" for finding in findings)


def as_json(findings: list[Finding]) -> str:
    record = {"safe": is_safe(findings), "findings": [asdict(item) for item in findings]}
    return json.dumps(record, ensure_ascii=True) + "\n"


def as_lines(findings: list[Finding]) -> str:
    unsafe_count = sum(item.status == "unsafe" for item in findings)
    warnings = sum(item.status == "warning" for item in findings)
    lines = [item.line() for item in findings]
    if unsafe_count:
        lines.append(f"The gate is NOT safe: {unsafe_count} unsafe, {warnings} warnings.")
    else:
        lines.append(f"The gate is safe as far as these checks see ({warnings} warnings).")
    return "\n".join(lines) + "\n"
