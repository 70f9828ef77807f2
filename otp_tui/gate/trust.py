"""Files the gate may rely on: none the invoking user could change, no secret others can read.

"Could change" means what sshd's StrictModes means: the user owns the file or a directory on
the way to it, or may write one through its group or other bits (a sticky directory such as
/tmp only lets them replace their own entries, which ownership already covers). A secret is
refused when any group or other permission bit is set, as Duo's login_duo does: the service
user owns it, mode 0600 or 0400.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from otp_tui.core.untrusted import visible
from otp_tui.gate.invoker import Invoker
from otp_tui.gate.refusal import GateRefusal


def shown(path: Path) -> str:
    """A path as it may be printed: a file name can hold escape sequences too."""
    return visible(str(path))


def _chain(path: Path) -> list[Path]:
    """The path as written and as resolved, each with every directory above it."""
    seen: dict[Path, None] = {}
    for start in (Path(os.path.abspath(path)), path.resolve()):
        for item in (start, *start.parents):
            seen.setdefault(item, None)
    return list(seen)


def writable_link(path: Path, user: Invoker) -> Path | None:
    """The first file or directory on the way to `path` that `user` could write, else None."""
    if user.is_root:
        return None
    for item in _chain(path):
        try:
            info = os.lstat(item)
        except FileNotFoundError:
            continue  # a missing file is reported by whoever needs it
        if stat.S_ISLNK(info.st_mode):
            # A link's own bits mean nothing; only its owner (or its directory's) can change it.
            if info.st_uid == user.uid:
                return item
            continue
        if info.st_uid == user.uid:
            return item
        if stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX:
            continue  # sticky: only an entry's owner may rename it, and owners are checked
        if info.st_mode & stat.S_IWOTH or (
            info.st_mode & stat.S_IWGRP and info.st_gid in user.groups
        ):
            return item
    return None


def require_unchangeable(path: Path, what: str, user: Invoker) -> None:
    weak = writable_link(path, user)
    if weak is not None:
        where = "" if weak == path else f" (through {shown(weak)})"
        raise GateRefusal(
            f"{what} {shown(path)} can be changed by {user.name}{where}; the gate refuses it"
        )


def require_private(path: Path, what: str) -> None:
    """Refuse a file holding a secret that group or others may read, write or run."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise GateRefusal(f"{what} {shown(path)}: {error.strerror}") from None
    if mode & 0o077:
        raise GateRefusal(
            f"{what} {shown(path)} holds a secret and is open to group or others "
            f"(mode {stat.S_IMODE(mode):04o}); make it 0600 or 0400, owned by the service user"
        )
