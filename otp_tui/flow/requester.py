"""Who asks for a code: one answer, read once, for the budgets, the audit trail and the mail.

The local account comes from the real uid, never from `$USER` or `$LOGNAME` (anyone can set
those), or, in gate mode, from sudo's account of the caller. That is what the per-requester send
budget counts: the system vouches for it.

The SSH client's address comes from `$SSH_CONNECTION` (`otp_tui.core.ssh_client`). Anyone who
can run a program can set that variable (a gated user with a shell, before `sudo ... gate`,
too), so it is a claim: it labels the audit line and the mail, and is never counted. Counting
it would let a caller charge another address's budget, and would make everyone behind one
bastion, NAT or VPN share a single budget.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from otp_tui.core.ssh_client import client_address

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
    """The SSH client's IP address as claimed, or None (not over SSH, or not well formed)."""
    return client_address(environ.get("SSH_CONNECTION"))


@dataclass(frozen=True)
class Caller:
    """The person behind a run: `user` is counted, `ssh_client` (a claim) only labels."""

    user: str
    ssh_client: str | None

    @property
    def requester(self) -> Requester:
        """What the per-requester budget counts: the account alone."""
        from otp_tui.core.limits import Requester

        return Requester(user=self.user)

    def labels(self) -> tuple[str, str | None]:
        """(user, ssh_client) as the audit trail records them."""
        return self.user, self.ssh_client


def caller_from_environment(
    user: str | None = None, environ: Mapping[str, str] = os.environ
) -> Caller:
    """`user` when a caller knows better (the gate's invoking user), else the real uid's."""
    return Caller(user=user or local_user(), ssh_client=ssh_client(environ))


def requester_from_environment(
    user: str | None = None, environ: Mapping[str, str] = os.environ
) -> Requester:
    """The budgets' view of `caller_from_environment`."""
    return caller_from_environment(user, environ).requester
