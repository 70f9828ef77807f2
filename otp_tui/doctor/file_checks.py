"""Everything the gate reads, runs or writes, and each folder above it: beyond the gated user's
reach, and every secret private to the service user.

The checks are the gate's own (`otp_tui.gate.trust`), run on each file in turn so that every
problem is named, not only the first; POSIX ACLs are read here too (`acl`), since a named
entry can grant what the mode bits do not show.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from otp_tui.doctor.acl import acl_writers
from otp_tui.doctor.findings import Finding, ok, unsafe

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings
    from otp_tui.gate.invoker import Invoker


def relied_on(settings: Settings, config: Path) -> list[tuple[Path, str, bool]]:
    """(path, what, holds a secret) for every file and program the gate relies on."""
    from otp_tui.config.schema import DEFAULT_ADDRESSES_FILE
    from otp_tui.gate.trust import CONFIG_FILE, GATE_STATE

    smtp, gate, state = settings.smtp, settings.gate, settings.state
    # The config holds a secret when it holds the SMTP password or a Redis URL with one.
    redis_password = isinstance(state.ledger, str) and urlsplit(state.ledger).password is not None
    inline_password = smtp.password is not None and smtp.password_file is None
    items: list[tuple[Path, str, bool]] = [(config, CONFIG_FILE, inline_password or redis_password)]
    if smtp.password_file is not None:
        items.append((smtp.password_file, "smtp.password_file", True))
    if smtp.ca_file is not None:
        items.append((smtp.ca_file, "smtp.ca_file", False))
    for key, argv in (
        ("smtp.password_command", smtp.password_command),
        ("smtp.oauth2_token_command", smtp.oauth2_token_command),
        ("address_command", gate.address_command),
    ):
        if argv is not None:
            items.append((Path(argv[0]), key, False))
    if settings.mail.templates is not None:
        items.append((settings.mail.templates, "mail.templates", False))
    items.append((gate.addresses_file or DEFAULT_ADDRESSES_FILE, "addresses_file", False))
    if state.ledger_password_file is not None:
        items.append((state.ledger_password_file, "state.ledger_password_file", True))
    for path in (state.ledger_path, state.audit_log):
        if path is not None:
            items.append((path, GATE_STATE, False))
    items.append((gate.state_dir, GATE_STATE, False))
    return items


def _on_the_way(path: Path) -> list[Path]:
    absolute = Path(os.path.abspath(path))
    return [absolute, *absolute.parents]


def loose_bits(item: Path) -> tuple[str, str] | None:
    """A group or other write bit on `item` (a sticky folder excepted), as (why, fix).

    Stricter than the gate, which asks only whether the user logging in could write: a
    config its group may write can be rewritten by every member, the service user included,
    so a gate process that was taken over could widen itself for good.
    """
    import grp

    try:
        info = os.lstat(item)
    except OSError:
        return None
    if stat.S_ISLNK(info.st_mode) or (stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX):
        return None
    mode = stat.S_IMODE(info.st_mode)
    if mode & stat.S_IWOTH:
        return (f"{item} is writable by everyone (mode {mode:04o})", f"chmod o-w {item}")
    if mode & stat.S_IWGRP:
        try:
            group = grp.getgrgid(info.st_gid).gr_name
        except KeyError:
            group = str(info.st_gid)
        return (
            f"{item} is writable by its group {group} (mode {mode:04o})",
            f"chmod g-w {item}",
        )
    return None


def root_only(path: Path) -> tuple[str, str] | None:
    """Why `path` (or a folder above it) is not root's alone, and the fix; None when it is."""
    resolved = Path(os.path.realpath(path))  # a link's target counts as much as the link
    for item in dict.fromkeys((path, *path.parents, resolved, *resolved.parents)):
        try:
            info = os.lstat(item)
        except OSError as error:
            if item in (path, resolved):
                return (f"{path}: {error.strerror}", "install it, as the PAM recipe says")
            continue
        if info.st_uid != 0:
            return (f"{item} is not root's", f"chown root {item}")
        loose = loose_bits(item)
        if loose is not None:
            return loose
    return None


def check_files(settings: Settings, config: Path, user: Invoker) -> list[Finding]:
    from otp_tui.gate.refusal import GateRefusal
    from otp_tui.gate.trust import require_private, require_unchangeable

    findings: list[Finding] = []
    seen: set[Path] = set()
    for path, what, secret in relied_on(settings, config):
        check = f"file.{what.replace(' ', '_')}"
        where = str(path)
        problems: list[tuple[str, str]] = []
        try:
            require_unchangeable(path, what, user)
        except GateRefusal as refusal:
            problems.append((str(refusal), "make it and every folder above it root's (or the "
                             "service user's), with no group or other write bit"))  # fmt: skip
        for item in _on_the_way(path):
            if item in seen and item != path:
                continue
            seen.add(item)
            loose = loose_bits(item)
            if loose is not None:
                problems.append(loose)
            writers = acl_writers(item, user.uid, user.groups)
            if writers:
                problems.append(
                    (
                        f"an ACL on {item} lets {user.name} write it ({', '.join(writers)})",
                        f"setfacl -x on those entries, or setfacl -b {item}",
                    )
                )
        if secret:
            try:
                require_private(path, what)
            except GateRefusal as refusal:
                problems.append((str(refusal), "chmod 0600 (or 0400), owned by the service user"))
        if not problems:
            state = "private and " if secret else ""
            findings.append(ok(check, f"{what} is {state}beyond {user.name}'s reach", where))
        for why, fix in problems:
            findings.append(unsafe(check, f"{what} can be changed or read", where, why, fix))
    return findings
