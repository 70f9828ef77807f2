"""POSIX ACLs: whether an access ACL lets a user write a file or folder its mode bits do not.

`setfacl -m u:alice:rw addresses` leaves the mode at 0640 (with the mask in the group bits),
so a check of owners and modes alone passes it. The access ACL is read from the
`system.posix_acl_access` attribute (Linux's format: a version word, then 8-byte entries of
tag, permissions and id), and a named user or group entry counts as far as the mask allows.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

_ATTRIBUTE = "system.posix_acl_access"
_VERSION = 2
_USER, _GROUP, _MASK = 0x02, 0x08, 0x10
_WRITE = 0x02


def _entries(path: Path) -> Iterator[tuple[int, int, int]]:
    """(tag, permissions, id) of each entry; nothing when the file has no extended ACL."""
    try:
        raw = os.getxattr(path, _ATTRIBUTE, follow_symlinks=False)
    except OSError:  # no ACL (ENODATA), no xattr support, or a link: mode bits say it all
        return
    if len(raw) < 4 or struct.unpack_from("<I", raw)[0] != _VERSION:
        return
    for offset in range(4, len(raw) - 7, 8):
        yield struct.unpack_from("<HHI", raw, offset)


def acl_writers(path: Path, uid: int, groups: frozenset[int]) -> list[str]:
    """The ACL entries (as getfacl writes them) that let `uid` (in `groups`) write `path`."""
    entries = list(_entries(path))
    mask = next((perm for tag, perm, _id in entries if tag == _MASK), 0o7)
    found = []
    for tag, perm, ident in entries:
        if not perm & mask & _WRITE:
            continue
        if tag == _USER and ident == uid:
            found.append(f"user:{ident}:w")
        elif tag == _GROUP and ident in groups:
            found.append(f"group:{ident}:w")
    return found
