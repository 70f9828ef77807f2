"""Which addresses may be verified: syntax by email-validator, forms that are not what they
seem, then the operator's allowlists."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from otp_tui.core.plain_address import plain_address


def N_(message: str) -> str:
    """Marks a sentence for translation (as `otp_tui.language.N_` does; the core imports no
    layer above it): whoever shows it translates it."""
    return message


# One sentence for every reason an address is refused, so the answer does not tell a prober
# which domains or addresses are on the list. Its one home: every front end and command shows
# this, translated where it is shown.
REFUSED_MESSAGE = N_("This address can't be verified here.")


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


class RefusedAddress(ValueError):
    """A well-formed address in a form otp-tui will not mail (see `misleading_form`)."""

    def __init__(self) -> None:
        super().__init__(REFUSED_MESSAGE)


# An RFC 2047 encoded word starts "=?". Python's header parser decodes one wherever an atom or
# a dot-atom starts with it (local part, domain, after a dot), in any charset it knows or not,
# q or b, with or without an RFC 2231 language: so a local part like "=?utf-8?q?=61lice?="
# passes email-validator (every character is allowed) and is then read back as "alice", or as
# "attacker@evil.com, b". Every decoding path needs these two characters together, so refusing
# them anywhere closes the class. RFC 2047 section 5 forbids encoded words in an addr-spec.
_ENCODED_WORD_START = "=?"
# Source routing in the local part: "user%other.example@relay" (the percent hack, on by default
# in Postfix and sendmail) and "host!user@relay" (UUCP bang paths) ask the receiving server to
# forward elsewhere. Refused always, allowlist or not: with a list they reach domains that are
# not on it; without one every relay spelling of one victim ("v%x@a", "v%x@b", ...) is a fresh
# ledger key, so a fresh budget of sends and guesses, and the audit trail names the wrong
# mailbox. Today no real mailbox needs either character.
_ROUTING_CHARACTERS = frozenset("%!")


def misleading_form(address: str) -> bool:
    """Whether `address` is a form that a mail system may read as some other address.

    Checked on the compatibility-normalised text as well, so fullwidth or small variants
    ("\uff05", "\ufe6a", "\uff1d\uff1f") cannot stand in for the ASCII characters should
    anything on the way fold them.
    """
    for form in (address, unicodedata.normalize("NFKC", address)):
        local = form.rpartition("@")[0]
        if _ENCODED_WORD_START in form or not _ROUTING_CHARACTERS.isdisjoint(local):
            return True
    return False


def normalise_address(raw: str) -> str:
    """The normalised form; EmailNotValidError for bad syntax, RefusedAddress for a form that
    is not what it seems. Syntax only: no DNS, no network."""
    stripped = raw.strip()
    plain = plain_address(stripped)
    if plain is not None:
        return plain
    # Imported when first needed: with idna it costs ~25 ms, and no screen needs it to draw.
    from email_validator import validate_email

    if misleading_form(stripped):  # before email-validator: its messages would name the trick
        raise RefusedAddress
    address: str = validate_email(stripped, check_deliverability=False).normalized
    if misleading_form(address):
        raise RefusedAddress
    return address


def limits_key(address: str) -> str:
    """The key the limits are counted under: case folded, because nearly every mail system
    delivers `Alice@x` and `alice@x` to one mailbox, and changing case must not buy a fresh
    budget of sends or guesses. Compatibility-normalised too (NFKC), so fullwidth and other
    look-alike spellings of one local part ("\uff41lice") count against the same budget:
    merging two keys can only make a limit stricter."""
    folded = unicodedata.normalize("NFKC", address).casefold()
    return unicodedata.normalize("NFKC", folded)


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
    try:
        address = normalise_address(raw)
    except RefusedAddress:
        return Refused()
    except ValueError as error:
        # EmailNotValidError is a ValueError: caught as one, so that a plain address (the fast
        # path) never imports email-validator just to name the exception.
        return Invalid(str(error))
    if not policy.allows(address):
        return Refused()
    return Accepted(address)
