"""Who asks for a code, as the per-requester send budgets count them.

The local account comes from the real uid, never from `$USER` or `$LOGNAME` (anyone can set
those); the SSH client's address from `$SSH_CONNECTION`, and only when its first field is an IP
address.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otp_tui.core.limits import Requester


def local_user(uid: int | None = None) -> str:
    """The name of the real uid's account, or `uid N` when it has none."""
    import pwd

    uid = os.getuid() if uid is None else uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def ssh_client(environ: Mapping[str, str] = os.environ) -> str | None:
    """The SSH client's IP address, or None (not over SSH, or not a well-formed address)."""
    fields = environ.get("SSH_CONNECTION", "").split()
    if not fields:
        return None
    try:
        return str(ipaddress.ip_address(fields[0]))
    except ValueError:
        return None


def requester_from_environment(
    user: str | None = None, environ: Mapping[str, str] = os.environ
) -> Requester:
    """`user` when a caller knows better (the gate's invoking user), else the real uid's."""
    from otp_tui.core.limits import Requester

    return Requester(user=user or local_user(), ssh_client=ssh_client(environ))
