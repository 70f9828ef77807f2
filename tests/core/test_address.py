import pytest

from otp_tui.core.address import (
    REFUSED_MESSAGE,
    Accepted,
    AccessPolicy,
    Invalid,
    Refused,
    check_address,
)

OPEN = AccessPolicy()


def test_valid_address_is_normalised():
    assert check_address("  Alice@Example.COM ", OPEN) == Accepted("Alice@example.com")


@pytest.mark.parametrize(
    "raw",
    ["", "alice", "alice@", "@example.com", "a@b.c\r\nBcc: x@y.z", "a b@example.com", "a@b..com"],
)
def test_invalid_syntax_gets_a_message(raw):
    verdict = check_address(raw, OPEN)
    assert isinstance(verdict, Invalid)
    assert verdict.message


def test_deliverability_is_not_checked():
    # This machine has no DNS; a deliverability check would refuse a domain nobody registered.
    assert check_address("a@no-such-domain-zq9x7.com", OPEN) == Accepted(
        "a@no-such-domain-zq9x7.com"
    )


def test_allowed_domains():
    policy = AccessPolicy.from_lists(["Example.com"], [])
    assert check_address("bob@example.com", policy) == Accepted("bob@example.com")
    assert check_address("bob@EXAMPLE.com", policy) == Accepted("bob@example.com")
    assert check_address("bob@evil.com", policy) == Refused()
    assert check_address("bob@sub.example.com", policy) == Refused()


def test_allowed_addresses():
    policy = AccessPolicy.from_lists([], ["Carol@Corp.example"])
    assert check_address("carol@corp.example", policy) == Accepted("carol@corp.example")
    assert check_address("dave@corp.example", policy) == Refused()


def test_refusals_share_one_message_whatever_the_reason():
    policy = AccessPolicy.from_lists(["example.com"], ["carol@corp.example"])
    wrong_domain = check_address("x@other.example", policy)
    wrong_user_on_listed_address_domain = check_address("dave@corp.example", policy)
    assert isinstance(wrong_domain, Refused)
    assert wrong_domain == wrong_user_on_listed_address_domain
    assert wrong_domain.message == REFUSED_MESSAGE
