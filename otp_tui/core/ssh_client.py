"""The SSH client's address as `$SSH_CONNECTION` states it: one rule for every reader.

sshd writes "client-ip client-port server-ip server-port", one space between fields. Only that
first field, and only when it is an IP address, is taken; anything else (a leading space or a
tab, a host name, text with escapes) gives None. An IPv6 scope id (`fe80::1%eth0`) is dropped:
it is free text, and it names an interface of the client's host, not the client.

Whoever can run a program can set the variable, so the address is a claim: it labels a request
(the audit trail, the mail, the screen) and is never what a budget counts.
"""

from __future__ import annotations

import ipaddress


def client_address(ssh_connection: str | None) -> str | None:
    """The client's IP address from an `SSH_CONNECTION` value, or None."""
    if not ssh_connection:
        return None
    return address_label(ssh_connection.split(" ", 1)[0])


def address_label(text: str) -> str | None:
    """`text` as an IP address fit to label a request (scope id dropped), or None.

    The one rule for a client's address from outside: the SSH client's, and PAM's remote host.
    """
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        address = ipaddress.IPv6Address(text.split("%", 1)[0])
    return str(address)
