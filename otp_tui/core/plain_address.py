"""The plain-address fast path: an address email-validator would accept exactly as written.

Its own module, with nothing else of the core, because the settings check the sender's address
as they load, before the first screen (`otp_tui.config.schema`), and `otp_tui.core.address`
normalises every address through it (the address on file, an allowlist entry, a typed one).
"""

from __future__ import annotations

import re

# Most addresses are plain ASCII, and email-validator (with idna) costs about a tenth of
# otp-tui's start-up and some 15 ms of the PAM helper's path to its first prompt; so those take
# a fast path: a strict subset of what email-validator accepts, returned in the normal form it
# would give (tests/config/test_loading.py checks both against email-validator itself). The
# sender's address, an allowlist entry and the address on file all take it. Anything else
# still goes to email-validator, error messages included.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")
_PLAIN_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
# email-validator refuses these top-level names (special use), and lowercases these local parts
# (RFC 2142 role mailboxes); both are left to it.
_RESERVED_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_ROLE_MAILBOXES = frozenset(
    {"info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster"}
    | {"hostmaster", "usenet", "news", "webmaster", "www", "uucp", "ftp"}
)


def plain_address(value: str) -> str | None:
    """`value` if it is a plain ASCII address email-validator would accept unchanged, else None.

    Never a misleading form: neither "=?" nor "%" nor "!" can pass the patterns above."""
    local, at, domain = value.partition("@")
    if not at or len(value) > 254 or len(local) > 64 or len(domain) > 253:
        return None
    if not _PLAIN_LOCAL.fullmatch(local) or not _PLAIN_DOMAIN.fullmatch(domain):
        return None
    # "--" could be an IDNA label ("xn--"), which email-validator decodes and may refuse.
    if "--" in domain or local.lower() in _ROLE_MAILBOXES:
        return None
    if domain.rpartition(".")[2] in _RESERVED_TLDS:
        return None
    return value
