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
from otp_tui.language import _

# What a check names besides a configuration key (`smtp.password_file`, `addresses_file`): each
# has sentences of its own, so that no translation is built from pieces.
CONFIG_FILE = "the config file"
GATE_STATE = "the gate's state"


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


def _changeable(what: str, *, through: bool) -> str:
    """The sentence for a file `user` could change, by what it is; {link} is the way in."""
    if what == CONFIG_FILE:
        if through:
            return _(
                "the config file {path} can be changed by {user} (through {link}); "
                "the gate refuses it"
            )
        return _("the config file {path} can be changed by {user}; the gate refuses it")
    if what == GATE_STATE:
        if through:
            return _(
                "the gate's state {path} can be changed by {user} (through {link}); "
                "the gate refuses it"
            )
        return _("the gate's state {path} can be changed by {user}; the gate refuses it")
    if through:
        # TRANSLATORS: {key} is a configuration key (smtp.ca_file, addresses_file, ...).
        return _("{key} {path} can be changed by {user} (through {link}); the gate refuses it")
    # TRANSLATORS: {key} is a configuration key (smtp.ca_file, addresses_file, ...).
    return _("{key} {path} can be changed by {user}; the gate refuses it")


def require_unchangeable(path: Path, what: str, user: Invoker) -> None:
    """`what` is CONFIG_FILE, GATE_STATE or the configuration key that names `path`."""
    weak = writable_link(path, user)
    if weak is not None:
        sentence = _changeable(what, through=weak != path)
        raise GateRefusal(
            sentence.format(key=what, path=shown(path), user=user.name, link=shown(weak))
        )


def require_private(path: Path, what: str) -> None:
    """Refuse a file holding a secret that group or others may read, write or run.

    `what` is CONFIG_FILE or the configuration key that names `path`.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        if what == CONFIG_FILE:
            # TRANSLATORS: {reason} is the system's (No such file or directory, ...).
            sentence = _("the config file {path}: {reason}")
        else:
            # TRANSLATORS: {key} is a configuration key; {reason} is the system's.
            sentence = _("{key} {path}: {reason}")
        raise GateRefusal(
            sentence.format(key=what, path=shown(path), reason=error.strerror)
        ) from None
    if mode & 0o077:
        if what == CONFIG_FILE:
            sentence = _(
                "the config file {path} holds a secret and is open to group or others "
                "(mode {mode}); make it 0600 or 0400, owned by the service user"
            )
        else:
            # TRANSLATORS: {key} is a configuration key; {mode} is like 0640.
            sentence = _(
                "{key} {path} holds a secret and is open to group or others "
                "(mode {mode}); make it 0600 or 0400, owned by the service user"
            )
        raise GateRefusal(
            sentence.format(key=what, path=shown(path), mode=f"{stat.S_IMODE(mode):04o}")
        )
