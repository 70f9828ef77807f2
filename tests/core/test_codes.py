import hmac
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otp_tui.core.codes import (
    CodeKeeper,
    OneTimeCode,
    code_in_text,
    generate_code,
    normalise_code,
)


@pytest.mark.parametrize("length", [6, 8, 10])
def test_generated_codes_have_the_configured_number_of_ascii_digits(length):
    for _ in range(200):
        digits = generate_code(length).reveal()
        assert len(digits) == length
        assert digits.isascii()
        assert digits.isdigit()


def test_codes_come_from_secrets_and_keep_leading_zeros(monkeypatch):
    # Pin what secrets.randbelow returns: the code must be exactly that number, zero-padded, and
    # the range asked for must be all 10**n strings.
    asked = []

    def fake_randbelow(n):
        asked.append(n)
        return 42

    monkeypatch.setattr("otp_tui.core.codes.secrets.randbelow", fake_randbelow)
    assert generate_code(6).reveal() == "000042"
    assert asked == [10**6]


def test_first_digit_is_roughly_uniform_including_zero():
    # 5000 draws: each leading digit expected 500 times; a generator that never yields a leading
    # zero (randint(10**5, 10**6)) or is badly skewed fails this comfortably.
    counts = Counter(generate_code(6).reveal()[0] for _ in range(5000))
    assert set(counts) == set("0123456789")
    assert all(350 < n < 650 for n in counts.values()), counts


def test_code_repr_and_str_never_show_the_digits():
    code = OneTimeCode("123456")
    assert "123456" not in repr(code)
    assert "123456" not in str(code)
    assert "123456" not in f"{code}"
    assert code.reveal() == "123456"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("123456", "123456"),
        ("123 456", "123456"),
        ("123-456", "123456"),
        (" 12 34-56 ", "123456"),
        ("\t123456\n", "123456"),
        ("12345", None),
        ("1234567", None),
        ("12345a", None),
        ("", None),
        ("١٢٣٤٥٦", None),  # Arabic-Indic digits are digits to str.isdigit, not to us
        ("123_456", None),
        ("+123456", None),
    ],
)
def test_normalise_code(typed, expected):
    assert normalise_code(typed, 6) == expected


def test_keeper_holds_only_a_keyed_digest():
    keeper = CodeKeeper(key=b"k" * 32)
    keeper.keep(OneTimeCode("123456"))
    state = repr(vars(keeper)) if hasattr(keeper, "__dict__") else repr(keeper)
    assert "123456" not in state
    assert keeper.matches("123456")
    assert not keeper.matches("123457")


def test_keeper_compares_in_constant_time(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("otp_tui.core.codes.hmac.compare_digest", spy)
    keeper = CodeKeeper()
    keeper.keep(OneTimeCode("000001"))
    assert not keeper.matches("000002")
    assert keeper.matches("000001")
    assert len(calls) == 2


def test_keeper_key_is_random_per_keeper():
    a, b = CodeKeeper(), CodeKeeper()
    a.keep(OneTimeCode("123456"))
    b.keep(OneTimeCode("123456"))
    assert a._digest != b._digest


def test_one_live_code_the_new_one_replaces_the_old():
    keeper = CodeKeeper()
    keeper.keep(OneTimeCode("111111"))
    keeper.keep(OneTimeCode("222222"))
    assert not keeper.matches("111111")
    assert keeper.matches("222222")
    keeper.discard()
    assert not keeper.matches("222222")


@given(st.integers(min_value=6, max_value=10), st.data())
def test_any_digit_string_with_separators_normalises_back(length, data):
    digits = data.draw(st.text(alphabet="0123456789", min_size=length, max_size=length))
    seps = data.draw(st.lists(st.sampled_from([" ", "-", ""]), min_size=length, max_size=length))
    typed = "".join(d + s for d, s in zip(digits, seps, strict=True))
    assert normalise_code(typed, length) == digits


@pytest.mark.parametrize(
    ("pasted", "found"),
    [
        ("Your code is 123456", "123456"),
        ("Your verification code is:\n\n123 456\n\nIt is valid for 10 minutes.", "123456"),
        ("code: 123-456 (valid 10 minutes)", "123456"),
        ("no code here", None),
        ("123456 or 654321", None),
        ("12345", None),
        ("1234567", None),
    ],
)
def test_a_paste_gives_up_its_one_code(pasted, found):
    assert code_in_text(pasted, 6) == found
