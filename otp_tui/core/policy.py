"""The numbers the verification rules run on, as plain data the core can hold.

`otp_tui.config.schema.PolicySettings` validates them, with the same defaults (a test holds
the two together); the core keeps its own copy so it never imports the configuration layer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    code_length: int = 6
    code_ttl: float = 600  # seconds a code stays valid after its send succeeded
    resend_cooldown: float = 60  # seconds after a successful send before another is allowed
    max_resends: int = 3  # successful sends after the first, per verification
    max_attempts: int = 5  # wrong codes before the address is locked for `lockout`
    max_sends_per_hour: int = 5  # per address, across processes (kept in the ledger)
    # Budgets across addresses, so that otp-tui cannot be used to mail-bomb many mailboxes or
    # spend the operator's sending quota. The whole ledger (one host, or a fleet on Redis):
    # 60 an hour is one code a minute sustained, far above what people logging in need, and
    # caps a flood at 1,440 mails a day. One requesting identity (the local user, and the SSH
    # client): 10 an hour is two addresses' full budgets, room for a typo and a second mailbox.
    max_sends_per_hour_total: int = 60
    max_sends_per_hour_per_requester: int = 10
    lockout: float = 900  # seconds an address stays locked after `max_attempts` wrong codes
    max_consecutive_failures: int = 100  # wrong codes without a success: locked until unlocked
