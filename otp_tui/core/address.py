"""Which addresses may be verified: syntax by email-validator, then the operator's allowlists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# One sentence for every reason an address is refused, so the answer does not tell a prober
# which domains or addresses are on the list.
REFUSED_MESSAGE = "This address can't be verified here."


@dataclass(frozen=True)
class Accepted:
    address: str  # normalised: the form that is mailed, counted and logged


@dataclass(frozen=True)
class Invalid:
    message: str  # email-validator's own wording: it only describes what the user typed


@dataclass(frozen=True)
class Refused:
    message: str = REFUSED_MESSAGE


AddressVerdict = Accepted | Invalid | Refused


def normalise_address(raw: str) -> str:
    """The normalised form, or EmailNotValidError. Syntax only: no DNS, no network."""
    # Imported when first needed: with idna it costs ~25 ms, and no screen needs it to draw.
    from email_validator import validate_email

    return validate_email(raw.strip(), check_deliverability=False).normalized


def limits_key(address: str) -> str:
    """The key the limits are counted under: case folded, because nearly every mail system
    delivers `Alice@x` and `alice@x` to one mailbox, and changing case must not buy a fresh
    budget of sends or guesses."""
    return address.casefold()


@dataclass(frozen=True)
class AccessPolicy:
    allowed_domains: frozenset[str] = frozenset()
    allowed_addresses: frozenset[str] = frozenset()

    @classmethod
    def from_lists(cls, domains: Iterable[str], addresses: Iterable[str]) -> AccessPolicy:
        return cls(
            frozenset(_normalise_domain(d) for d in domains),
            frozenset(normalise_address(a).casefold() for a in addresses),
        )

    @property
    def open(self) -> bool:
        return not self.allowed_domains and not self.allowed_addresses

    def allows(self, normalised: str) -> bool:
        if self.open:
            return True
        domain = normalised.rpartition("@")[2]
        return (
            _normalise_domain(domain) in self.allowed_domains
            or normalised.casefold() in self.allowed_addresses
        )


def _normalise_domain(domain: str) -> str:
    # email-validator lowercases domains and turns IDNs to their Unicode form; do the same here.
    return domain.strip().lstrip("@").rstrip(".").casefold()


def check_address(raw: str, policy: AccessPolicy) -> AddressVerdict:
    from email_validator import EmailNotValidError

    try:
        address = normalise_address(raw)
    except EmailNotValidError as error:
        return Invalid(str(error))
    if not policy.allows(address):
        return Refused()
    return Accepted(address)
