"""Files the gate may rely on: none the invoking user could change, no secret others can read.

"Could change" means what sshd's StrictModes means: the user owns the file or a directory on
the way to it, or may write one through its group or other bits (a sticky directory such as
/tmp only lets them replace their own entries, which ownership already covers), and one thing
more: a POSIX ACL entry that grants the user, or a group of theirs, write. A secret is refused
when any group or other permission bit is set, as Duo's login_duo does: the service user owns
it, mode 0600 or 0400.

ACLs are read from the `system.posix_acl_access` attribute and parsed here (the kernel's
format: a version word, then 8-byte entries of tag, permissions and id) rather than by running
`getfacl`: no program on the check's path, no output to parse, and the same answer on a
machine without the acl package. An entry's write bit counts whatever the mask says: the mask
is the owner's to widen, and a check that fails closed should not lean on it.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
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


_ACL_XATTR = "system.posix_acl_access"
_ACL_VERSION = 2  # POSIX_ACL_XATTR_VERSION
_ACL_USER, _ACL_GROUP = 0x02, 0x08  # named user and named group entries
_ACL_WRITE = 0x02
_NO_ACL = {errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP}


def acl_grants_write(item: Path, user: Invoker) -> bool:
    """Whether an ACL entry on `item` grants `user` or one of their groups write.

    An attribute that cannot be read or parsed counts as granting it (fail closed).
    """
    try:
        raw = os.getxattr(item, _ACL_XATTR, follow_symlinks=False)
    except OSError as error:
        return error.errno not in _NO_ACL
    if len(raw) < 4 or (len(raw) - 4) % 8 or int.from_bytes(raw[:4], "little") != _ACL_VERSION:
        return True
    for tag, permissions, who in struct.iter_unpack("<HHI", raw[4:]):
        if not permissions & _ACL_WRITE:
            continue
        if (tag == _ACL_USER and who == user.uid) or (tag == _ACL_GROUP and who in user.groups):
            return True
    return False


def weak_entry(item: Path, user: Invoker) -> bool | None:
    """Whether `user` could change `item` itself (not the directories above it); None: absent."""
    try:
        info = os.lstat(item)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        # A link's own bits mean nothing; only its owner (or its directory's) can change it.
        return info.st_uid == user.uid
    if info.st_uid == user.uid:
        return True
    if stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX:
        return False  # sticky: only an entry's owner may rename it, and owners are checked
    if info.st_mode & stat.S_IWOTH or (info.st_mode & stat.S_IWGRP and info.st_gid in user.groups):
        return True
    return acl_grants_write(item, user)


def writable_link(path: Path, user: Invoker) -> Path | None:
    """The first file or directory on the way to `path` that `user` could write, else None."""
    if user.is_root:
        return None
    for item in _chain(path):
        # A missing file is reported by whoever needs it.
        if weak_entry(item, user):
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


def program_paths(argv: tuple[str, ...], search_path: str) -> list[Path]:
    """The files a command runs or is handed: its program (found on `search_path` when named
    bare, as it will be run) and every argument that names an existing file by absolute path
    (the script an interpreter runs, a file the program reads)."""
    import shutil

    found: list[Path] = []
    program = argv[0]
    if "/" in program:
        found.append(Path(program))
    else:
        located = shutil.which(program, path=search_path)
        if located is not None:  # else it cannot be run, and the run says so
            found.append(Path(located))
    found += [Path(arg) for arg in argv[1:] if arg.startswith("/") and os.path.exists(arg)]
    return found


def require_program_unchangeable(
    argv: tuple[str, ...], what: str, user: Invoker, search_path: str
) -> None:
    """`what` is the configuration key naming the command (smtp.password_command, ...)."""
    for path in program_paths(argv, search_path):
        require_unchangeable(path, what, user)


# Enough for any set of mail templates; a folder with more is not what the operator meant.
_MAX_TEMPLATE_ENTRIES = 1000


def require_folder_unchangeable(folder: Path, what: str, user: Invoker) -> None:
    """The folder, everything in it, and no symbolic link anywhere inside (a link could name a
    file the service user may read and the gated user may not: the relay's password)."""
    require_unchangeable(folder, what, user)
    seen = 0
    for top, folders, files in os.walk(folder, followlinks=False):
        for name in (*folders, *files):
            seen += 1
            item = Path(top) / name
            if seen > _MAX_TEMPLATE_ENTRIES:
                # TRANSLATORS: {key} is a configuration key (mail.templates); {count} a number.
                many = _("{key} {path} holds more than {count} entries; the gate refuses it")
                raise GateRefusal(
                    many.format(key=what, path=shown(folder), count=_MAX_TEMPLATE_ENTRIES)
                )
            if item.is_symlink():
                # TRANSLATORS: {key} is a configuration key (mail.templates).
                link = _("{key} {path} is a symbolic link; the gate follows none in that folder")
                raise GateRefusal(link.format(key=what, path=shown(item)))
            if user.is_root:
                continue
            if weak_entry(item, user):
                sentence = _changeable(what, through=False)
                raise GateRefusal(sentence.format(key=what, path=shown(item), user=user.name))
