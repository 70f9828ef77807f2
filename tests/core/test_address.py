import base64
import email.policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otp_tui.core.address import (
    REFUSED_MESSAGE,
    Accepted,
    AccessPolicy,
    Invalid,
    Refused,
    RefusedAddress,
    check_address,
    limits_key,
    normalise_address,
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


# --- forms that a mail system may read as some other address --------------------------------

CORP = AccessPolicy.from_lists(["corp.example"], [])


@pytest.mark.parametrize(
    "raw",
    [
        "=?utf-8?q?=61lice?=@corp.example",  # decodes to alice@corp.example
        "=?utf-8?b?YXR0YWNrZXJAZXZpbC5jb20sIGI=?=@corp.example",  # "attacker@evil.com, b"
        "=?UTF-8?Q?alice?=@corp.example",
        "=?iso-8859-1?q?alice?=@corp.example",
        "=?x-unknown?q?alice?=@corp.example",  # an unknown charset is decoded all the same
        "=?utf-8*en?q?alice?=@corp.example",  # RFC 2231 language
        "x.=?utf-8?q?alice?=@corp.example",  # after a dot
        "=?utf-8?q?al?==?utf-8?q?ice?=@corp.example",  # split into two words
        "a=?b@corp.example",  # the opening alone
        "alice@=?utf-8?q?corp.example?=",  # in the domain
        "\uff1d\uff1futf-8?q?alice?=@corp.example",  # fullwidth = and ?
    ],
)
def test_encoded_word_syntax_is_refused(raw):
    assert check_address(raw, OPEN) == Refused()
    assert check_address(raw, CORP) == Refused()


@pytest.mark.parametrize(
    "raw",
    [
        "attacker%evil.com@corp.example",
        "evil.com!attacker@corp.example",
        "a%b%c@corp.example",
        "attacker\uff05evil.com@corp.example",  # fullwidth percent
        "attacker\ufe6aevil.com@corp.example",  # small percent sign
        "evil.com\uff01attacker@corp.example",  # fullwidth exclamation mark
    ],
)
def test_routing_in_the_local_part_is_refused_with_or_without_an_allowlist(raw):
    assert check_address(raw, CORP) == Refused()
    assert check_address(raw, OPEN) == Refused()


def test_every_refusal_is_the_same_neutral_sentence():
    verdicts = {
        check_address(raw, CORP)
        for raw in (
            "bob@evil.example",
            "=?utf-8?q?bob?=@corp.example",
            "bob%evil.example@corp.example",
            "evil!bob@corp.example",
        )
    }
    assert verdicts == {Refused(REFUSED_MESSAGE)}


def test_normalise_address_refuses_the_same_forms():
    # `--email` and `otp-tui status/unlock` go through normalise_address, not check_address.
    for raw in ("=?utf-8?q?=61lice?=@corp.example", "a%b@corp.example", "b!a@corp.example"):
        with pytest.raises(RefusedAddress) as raised:
            normalise_address(raw)
        assert str(raised.value) == REFUSED_MESSAGE


def test_ordinary_punctuation_is_still_accepted():
    for local in ("o'brien", "a+tag", "a=b", "why?", "q?=x"):
        raw = f"{local}@corp.example"
        assert isinstance(check_address(raw, CORP), Accepted), raw


# Encoded words as Python's header machinery reads them: "=?" charset ["*" lang] "?" q|b "?"
# text "?=", in any charset (known or not), embedded anywhere in a local part.
_CHARSETS = st.sampled_from(["utf-8", "UTF-8", "us-ascii", "iso-8859-1", "koi8-r", "utf-16"]) | (
    st.text(alphabet="abcxyz019-_", min_size=1, max_size=10)
)


@st.composite
def encoded_words(draw):
    charset = draw(_CHARSETS)
    if draw(st.booleans()):
        charset += "*" + draw(st.sampled_from(["en", "de-ch", "x"]))
    text = draw(st.text(alphabet="abc@,.<> \"'", min_size=1, max_size=12))
    if draw(st.booleans()):
        encoding = draw(st.sampled_from("qQ"))
        payload = "".join(char if char.isalnum() else f"={ord(char):02X}" for char in text).replace(
            " ", "_"
        )
    else:
        encoding = draw(st.sampled_from("bB"))
        payload = base64.b64encode(text.encode()).decode()
    return f"=?{charset}?{encoding}?{payload}?="


_ATEXT = st.text(alphabet="abz09'+-_=?{}~#$&*/^`|", max_size=6)


@given(
    before=_ATEXT,
    words=st.lists(encoded_words(), min_size=1, max_size=3),
    joiner=st.sampled_from(["", ".", "x"]),
    after=_ATEXT,
)
@settings(max_examples=300, deadline=None)
def test_no_encoded_word_is_accepted(before, words, joiner, after):
    raw = f"{before}{joiner.join(words)}{after}@corp.example"
    assert check_address(raw, CORP) == Refused()


# Local parts built from the pieces of encoded words and the other characters an atom allows,
# so that the generator reaches forms nobody thought to list.
_PIECES = st.sampled_from(
    ["=?", "?=", "?", "=", "utf-8", "q", "b", "=?utf-8?q?", "=?x*en?B?", "=61", "YQ==", "."]
) | st.text(alphabet="az09+-{}~#$&/^`|", min_size=1, max_size=3)


@given(local=st.lists(_PIECES, min_size=1, max_size=12).map("".join))
@settings(max_examples=500, deadline=None)
def test_what_is_accepted_reads_back_as_itself_in_a_to_header(local):
    # The class, stated as the property that matters: whatever otp-tui accepts, Python's
    # header parser reads back as exactly that one address (nothing decoded, nothing split).
    verdict = check_address(f"{local}@corp.example", CORP)
    if not isinstance(verdict, Accepted):
        return
    header = email.policy.default.header_factory("To", verdict.address)
    assert [str(address) for address in header.addresses] == [verdict.address]


# --- what held up in the review: keep it so -------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "Alice@corp.example",
        "ALICE@CORP.EXAMPLE",
        "alice@\uff23\uff2f\uff32\uff30.example",  # fullwidth domain
        "\uff41lice@corp.example",  # fullwidth local part
        "alice@corp.example",
    ],
)
def test_case_and_fullwidth_variants_share_one_ledger_key(variant):
    verdict = check_address(variant, OPEN)
    assert isinstance(verdict, Accepted)
    assert limits_key(verdict.address) == "alice@corp.example"


def test_idn_variants_share_one_ledger_key():
    keys = {
        limits_key(normalise_address(raw))
        for raw in (
            "kim@m\u00fcnchen.example",
            "kim@xn--mnchen-3ya.example",
            "kim@M\u00dcNCHEN.example",
        )
    }
    assert keys == {"kim@m\u00fcnchen.example"}


@pytest.mark.parametrize(
    "raw",
    [
        '"alice"@corp.example',  # quoted local part
        '"a@b"@corp.example',
        "alice@[192.0.2.1]",  # domain literal
        "alice@[IPv6:2001:db8::1]",
        "alice@corp.example.",  # trailing dot
        "alice\x00@corp.example",  # control characters
        "ali\x1bce@corp.example",
        "ali\x85ce@corp.example",
        "ali\u202ece@corp.example",  # bidi override
        "ali\u2066ce@corp.example",  # bidi isolate
        "ali\u200bce@corp.example",  # zero width
        "ali\u200dce@corp.example",
        "ali\ufeffce@corp.example",
    ],
)
def test_quoted_literal_trailing_dot_control_bidi_and_zero_width_are_not_accepted(raw):
    assert not isinstance(check_address(raw, OPEN), Accepted)


def test_allowed_address_must_itself_be_a_plain_form():
    with pytest.raises(RefusedAddress):
        AccessPolicy.from_lists([], ["a%b@corp.example"])
