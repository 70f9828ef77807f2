"""Who is logging in: the user the gate verifies, whose address it looks up and audits.

Under sudo the process runs as the service user, and sudo says who called it in `SUDO_USER` and
`SUDO_UID` (it sets both itself; the caller cannot). The two must agree with the password
database. Outside sudo the variables are anyone's to set, so they count only when the process
runs as the service user (or root): a user who runs the gate as themselves with invented
variables is simply themselves.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass

from otp_tui.core.untrusted import visible
from otp_tui.gate.refusal import GateRefusal
from otp_tui.language import _


@dataclass(frozen=True)
class Invoker:
    name: str
    uid: int
    groups: frozenset[int]  # primary and supplementary: what file permissions see

    @property
    def is_root(self) -> bool:
        return self.uid == 0


def _invoker(entry: pwd.struct_passwd) -> Invoker:
    groups = frozenset(os.getgrouplist(entry.pw_name, entry.pw_gid))
    return Invoker(entry.pw_name, entry.pw_uid, groups)


def invoking_user(environ: Mapping[str, str], *, real_uid: int, service_uid: int | None) -> Invoker:
    """The user at the other end; GateRefusal when sudo's account of it does not hold up.

    `service_uid` is the uid that sudo runs the gate as (the owner of the gate's state), or
    None when that is not known; sudo's variables are believed only under it or root.
    """
    sudo_user = environ.get("SUDO_USER")
    sudo_uid = environ.get("SUDO_UID")
    switched = real_uid == 0 or (service_uid is not None and real_uid == service_uid)
    if not switched or (sudo_user is None and sudo_uid is None):
        try:
            return _invoker(pwd.getpwuid(real_uid))
        except KeyError:
            raise GateRefusal(
                _("uid {uid} has no user name; the gate stays shut").format(uid=real_uid)
            ) from None
    if sudo_user is None or sudo_uid is None:
        raise GateRefusal(_("SUDO_USER and SUDO_UID must both be set under sudo"))
    try:
        uid = int(sudo_uid, 10)
        entry = pwd.getpwnam(sudo_user)
    except (ValueError, KeyError):
        # TRANSLATORS: {user} is the name sudo gave, quoted as Python quotes it.
        unknown = _("sudo's caller {user} (uid {uid}) is not a known user")
        raise GateRefusal(
            unknown.format(user=repr(visible(sudo_user)), uid=visible(sudo_uid))
        ) from None
    if entry.pw_uid != uid:
        # TRANSLATORS: {user} is the name sudo gave, quoted as Python quotes it.
        mismatch = _("SUDO_USER {user} is uid {uid}, not SUDO_UID {sudo_uid}; the gate stays shut")
        raise GateRefusal(
            mismatch.format(
                user=repr(visible(sudo_user)), uid=entry.pw_uid, sudo_uid=visible(sudo_uid)
            )
        )
    return _invoker(entry)
