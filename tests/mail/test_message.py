"""The verification email as a mail client will see it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otp_tui.config.schema import SenderSettings
from otp_tui.core.codes import OneTimeCode
from otp_tui.mail.message import Origin, build_message, describe_origin, origin_here

IGNORE_SENTENCE = "If you did not ask for this code, you can ignore this email."

SENDER = SenderSettings(address="otp@example.org", name="Gatekeeper", subject="Your code")
NOW = datetime(2026, 5, 9, 7, 35, tzinfo=UTC)


def roundtrip(message: EmailMessage) -> EmailMessage:
    """What a receiver parses from the bytes on the wire."""
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    return plain.get_content(), html.get_content()


def test_headers() -> None:
    message = roundtrip(
        build_message(
            SENDER,
            "bob@example.com",
            OneTimeCode("000123"),
            ttl_seconds=600,
            requested_from="h",
            now=NOW,
        )
    )
    assert str(message["From"]) == "Gatekeeper <otp@example.org>"
    assert message["To"] == "bob@example.com"
    assert message["Subject"] == "Your code"
    assert message["Date"].datetime == NOW
    assert message["Message-ID"].endswith("@example.org>")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"


def test_non_ascii_display_name_is_encoded() -> None:
    sender = SenderSettings(address="otp@example.org", name="Zoë “Gate” Ω")
    message = build_message(
        sender, "bob@example.com", OneTimeCode("123456"), ttl_seconds=60, requested_from="h"
    )
    wire = message.as_bytes()
    from_line = next(line for line in wire.splitlines() if line.startswith(b"From:"))
    assert from_line.isascii()
    assert str(roundtrip(message)["From"]) == "Zoë “Gate” Ω <otp@example.org>"


def test_body_says_validity_origin_and_the_ignore_sentence() -> None:
    plain, html = parts(
        build_message(
            SENDER,
            "bob@example.com",
            OneTimeCode("123456"),
            ttl_seconds=600,
            requested_from=Origin("bastion", "203.0.113.9"),
        )
    )
    lines = plain.splitlines()
    assert "123456" in lines[:4], "the code sits on its own line near the top"
    assert "It is valid for 10 minutes." in plain
    assert "It was asked for on the computer bastion, over SSH from 203.0.113.9." in plain
    assert IGNORE_SENTENCE in plain
    assert "10 minutes" in html
    assert "203.0.113.9" in html
    assert IGNORE_SENTENCE in html


def test_html_escapes_the_origin() -> None:
    _, html = parts(
        build_message(
            SENDER,
            "bob@example.com",
            OneTimeCode("123456"),
            ttl_seconds=60,
            requested_from="<b>host</b>",
        )
    )
    assert "<b>host</b>" not in html
    assert "&lt;b&gt;host&lt;/b&gt;" in html


@pytest.mark.parametrize(
    ("ttl", "text"),
    [(30, "30 seconds"), (60, "1 minute"), (90, "1 minute"), (600, "10 minutes")],
)
def test_validity_wording(ttl: int, text: str) -> None:
    plain, _ = parts(
        build_message(
            SENDER, "b@example.com", OneTimeCode("123456"), ttl_seconds=ttl, requested_from="h"
        )
    )
    assert f"It is valid for {text}." in plain


@given(
    code=st.integers(min_value=6, max_value=10).flatmap(
        lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)
    ),
    ttl=st.integers(min_value=1, max_value=10**9),
)
def test_the_code_is_the_only_long_number(code: str, ttl: int) -> None:
    message = roundtrip(
        build_message(
            SENDER,
            "bob@example.com",
            OneTimeCode(code),
            ttl_seconds=ttl,
            requested_from="host-42 (over SSH from 2001:db8::1)",
        )
    )
    for body in parts(message):
        assert body.count(code) == 1
        assert re.findall(r"\d{6,}", body) == [code]


@pytest.mark.parametrize(
    "to",
    ["a@b.c\r\nBcc: x@y.z", "a@b.c\nBcc: x@y.z", "a@b.c\rBcc: x@y.z"],
)
def test_line_breaks_in_the_recipient_are_refused(to: str) -> None:
    with pytest.raises(ValueError, match="line breaks") as caught:
        build_message(SENDER, to, OneTimeCode("123456"), ttl_seconds=60, requested_from="h")
    assert "x@y.z" not in str(caught.value)


@pytest.mark.parametrize("field", ["name", "subject", "address"])
def test_line_breaks_in_sender_settings_are_refused(field: str) -> None:
    # The settings model refuses these already; the builder must not rely on that alone.
    values = {"address": "otp@example.org", "name": "n", "subject": "s"}
    values[field] += "\r\nBcc: x@y.z"
    sender = SenderSettings.model_construct(
        address=values["address"], name=values["name"], subject=values["subject"]
    )
    with pytest.raises(ValueError, match="line breaks"):
        build_message(
            sender, "bob@example.com", OneTimeCode("123456"), ttl_seconds=60, requested_from="h"
        )


@pytest.mark.parametrize("code", ["12345a", "١٢٣٤٥٦", "123 456", ""])
def test_code_must_be_ascii_digits(code: str) -> None:
    with pytest.raises(ValueError, match="digits") as caught:
        build_message(
            SENDER, "bob@example.com", OneTimeCode(code), ttl_seconds=60, requested_from="h"
        )
    if code:
        assert code not in str(caught.value)


def test_demo_mode_sender_without_an_address() -> None:
    message = build_message(
        SenderSettings(service="Demo"),
        "bob@example.com",
        OneTimeCode("123456"),
        ttl_seconds=60,
        requested_from="h",
    )
    assert str(message["From"]) == "Demo <otp-tui@localhost>"
    assert message["Message-ID"].endswith("@localhost>")


def test_origin_without_ssh() -> None:
    assert describe_origin({}, hostname="laptop") == "laptop"


def test_origin_with_ssh() -> None:
    environ = {"SSH_CONNECTION": "203.0.113.9 52144 10.0.0.5 22"}
    assert describe_origin(environ, hostname="bastion") == "bastion (over SSH from 203.0.113.9)"


def test_origin_with_ipv6_ssh_client() -> None:
    environ = {"SSH_CONNECTION": "2001:db8::7 52144 2001:db8::1 22"}
    assert describe_origin(environ, hostname="b") == "b (over SSH from 2001:db8::7)"


def test_origin_ignores_a_malformed_ssh_connection() -> None:
    environ = {"SSH_CONNECTION": "<script> 1 2 3"}
    assert describe_origin(environ, hostname="bastion") == "bastion"


def test_origin_defaults_to_this_host() -> None:
    assert describe_origin({}) != ""


def test_origin_here_keeps_the_login_user_and_the_client() -> None:
    environ = {"SSH_CONNECTION": "203.0.113.9 52144 10.0.0.5 22"}
    assert origin_here(environ, hostname="bastion", login_user="alice") == Origin(
        "bastion", "203.0.113.9", "alice"
    )
    assert origin_here({}, hostname="bastion\x1b[2J") == Origin("bastion[2J")


def test_the_service_defaults_to_the_host_and_names_subject_and_sender() -> None:
    import socket

    bastion = socket.gethostname()
    message = build_message(
        SenderSettings(address="otp@example.org"),
        "bob@example.com",
        OneTimeCode("123456"),
        ttl_seconds=60,
        requested_from=Origin("bastion", "203.0.113.9"),
    )
    assert message["Subject"] == f"Your verification code for {bastion}"
    assert str(message["From"]) == f"{bastion} <otp@example.org>"
    plain, _ = parts(message)
    assert plain.startswith(f"Your verification code for {bastion} is:")


def test_an_operators_service_and_name() -> None:
    sender = SenderSettings(address="otp@example.org", service="Acme VPN")
    message = build_message(
        sender, "bob@example.com", OneTimeCode("123456"), ttl_seconds=60, requested_from="h"
    )
    assert message["Subject"] == "Your verification code for Acme VPN"
    assert str(message["From"]) == "Acme VPN <otp@example.org>"
    named = SenderSettings(address="otp@example.org", service="Acme VPN", name="Acme IT")
    message = build_message(
        named, "bob@example.com", OneTimeCode("123456"), ttl_seconds=60, requested_from="h"
    )
    assert str(message["From"]) == "Acme IT <otp@example.org>"


@pytest.mark.parametrize("field", ["service", "name"])
@pytest.mark.parametrize("value", ["", "a\r\nBcc: x@y.z", "x" * 81])
def test_the_service_and_name_settings_are_checked(field: str, value: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        SenderSettings(**{field: value})
