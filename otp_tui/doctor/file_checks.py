"""Everything the gate reads, runs or writes, and each folder above it: beyond the gated user's
reach, and every secret private to the service user.

The checks are the gate's own (`otp_tui.gate.trust`: owners, modes, POSIX ACLs, programs and
their scripts, the templates folder entry by entry), run on each thing in turn so that every
problem is named, not only the first; an ACL entry behind a refusal is named with its fix. The
doctor adds one rule of its own: no group or other write bit anywhere on the way.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from otp_tui.doctor.findings import Finding, ok, unsafe

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings
    from otp_tui.gate.invoker import Invoker


@dataclass(frozen=True)
class Relied:
    """One thing the gate relies on, as `otp_tui.gate.run.check_files` checks it."""

    what: str  # CONFIG_FILE, GATE_STATE or the configuration key naming it
    path: Path
    secret: bool = False  # also private to the service user
    argv: tuple[str, ...] | None = None  # a command: its program and the files it is handed
    search: str = ""  # where a bare program name is looked up, as the gate runs it
    folder: bool = False  # a folder checked entry by entry (the templates)


def relied_on(settings: Settings, config: Path) -> list[Relied]:
    """Every file, program and folder the gate relies on, in the order the gate checks them."""
    from otp_tui.config.schema import DEFAULT_ADDRESSES_FILE
    from otp_tui.gate.addresses import COMMAND_PATH
    from otp_tui.gate.interpreter import SAFE_PATH
    from otp_tui.gate.trust import CONFIG_FILE, GATE_STATE

    smtp, gate, state = settings.smtp, settings.gate, settings.state
    url = state.ledger_url
    inline = smtp.password is not None and smtp.password_file is None
    items = [Relied(CONFIG_FILE, config, secret=inline or bool(url and urlsplit(url).password))]
    for path, key in (
        (smtp.password_file, "smtp.password_file"),
        (state.ledger_password_file, "state.ledger_password_file"),
        (state.ledger_sentinel_password_file, "state.ledger_sentinel_password_file"),
    ):
        if path is not None:
            items.append(Relied(key, path, secret=True))
    for path, key in (
        (smtp.ca_file, "smtp.ca_file"),
        (state.ledger_ca_file, "state.ledger_ca_file"),
    ):
        if path is not None:
            items.append(Relied(key, path))
    items.append(Relied("addresses_file", gate.addresses_file or DEFAULT_ADDRESSES_FILE))
    for argv, key, search in (
        (gate.address_command, "address_command", COMMAND_PATH),
        (smtp.password_command, "smtp.password_command", SAFE_PATH),
        (smtp.oauth2_token_command, "smtp.oauth2_token_command", SAFE_PATH),
    ):
        if argv is not None:
            items.append(Relied(key, Path(argv[0]), argv=argv, search=search))
    if settings.mail.templates is not None:
        items.append(Relied("mail.templates", settings.mail.templates, folder=True))
    for path in (state.ledger_path, state.audit_log):
        if path is not None:
            items.append(Relied(GATE_STATE, path))
    items.append(Relied(GATE_STATE, gate.state_dir))
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


def _gate_check(item: Relied, user: Invoker) -> list[tuple[str, str]]:
    """The gate's own verdict on `item`, as (why, fix) pairs: none when it passes."""
    from otp_tui.gate.refusal import GateRefusal
    from otp_tui.gate.trust import (
        acl_grants_write,
        require_folder_unchangeable,
        require_private,
        require_program_unchangeable,
        require_unchangeable,
        writable_link,
    )

    problems: list[tuple[str, str]] = []
    try:
        if item.argv is not None:
            require_program_unchangeable(item.argv, item.what, user, item.search)
        elif item.folder:
            require_folder_unchangeable(item.path, item.what, user)
        else:
            require_unchangeable(item.path, item.what, user)
    except GateRefusal as refusal:
        weak = writable_link(item.path, user)
        if weak is not None and acl_grants_write(weak, user):
            fix = f"remove the ACL entry (setfacl -x u:{user.name} {weak}, or setfacl -b {weak})"
            problems.append((f"{refusal} (an ACL entry on {weak} lets {user.name} write it)", fix))
        else:
            fix = "make it and every folder above it root's (or the service user's state)"
            problems.append((str(refusal), fix))
    if item.secret:
        try:
            require_private(item.path, item.what)
        except GateRefusal as refusal:
            problems.append((str(refusal), "chmod 0600 (or 0400), owned by the service user"))
    return problems


def check_files(settings: Settings, config: Path, user: Invoker) -> list[Finding]:
    """A finding per thing the gate relies on: the gate's own checks, then any group or other
    write bit on it or a folder above it."""
    from otp_tui.gate.trust import program_paths

    findings: list[Finding] = []
    seen: set[Path] = set()
    for item in relied_on(settings, config):
        check = f"file.{item.what.replace(' ', '_')}"
        problems = _gate_check(item, user)
        paths = program_paths(item.argv, item.search) if item.argv is not None else [item.path]
        for path in paths:
            for step in _on_the_way(path):
                if step in seen and step != path:
                    continue
                seen.add(step)
                loose = loose_bits(step)
                if loose is not None:
                    problems.append(loose)
        where = str(item.path)
        if not problems:
            private = "private and " if item.secret else ""
            findings.append(ok(check, f"{item.what} is {private}beyond {user.name}'s reach", where))
        for why, fix in problems:
            findings.append(unsafe(check, f"{item.what} can be changed or read", where, why, fix))
    return findings
