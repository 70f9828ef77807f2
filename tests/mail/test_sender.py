"""send_message against real aiosmtpd servers on loopback: every success and every failure kind."""

from __future__ import annotations

import asyncio
import gc
import re
import time
import warnings
from email.message import EmailMessage
from typing import TYPE_CHECKING

import pytest

from otp_tui.config.schema import SenderSettings, SmtpSettings
from otp_tui.core.codes import OneTimeCode
from otp_tui.mail.errors import FailureKind, SendError
from otp_tui.mail.message import build_message
from otp_tui.mail.sender import send_message

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from conftest import StartServer, TestSmtpServer, TlsCerts

    LoopbackSettings = Callable[..., SmtpSettings]

CODE = "048213"
PASSWORD = "correct horse 493817"
TO = "alice@example.com"


def make_message(code: str = CODE) -> EmailMessage:
    sender = SenderSettings(address="otp@example.org", name="Zoë’s Gatekeeper", service="Z")
    return build_message(sender, TO, OneTimeCode(code), ttl_seconds=600, requested_from="bastion")


async def expect_failure(
    server: TestSmtpServer | None,
    settings: SmtpSettings,
    kind: FailureKind,
    *,
    sentence: str | None = None,
) -> SendError:
    with pytest.raises(SendError) as caught:
        await send_message(settings, make_message())
    error = caught.value
    assert error.kind is kind, error.detail
    assert error.retryable is kind.retryable
    assert str(error) == (sentence or kind.message)
    for secret in (CODE, PASSWORD):
        assert secret not in str(error)
        assert secret not in error.detail
        assert secret not in repr(error)
    if server is not None:
        assert server.received == [], "nothing may be delivered when a send fails"
    return error


# --- deliveries ---------------------------------------------------------------------------


async def test_plain_delivery(smtp_server: StartServer) -> None:
    server = await smtp_server(tls="none")
    await send_message(server.settings(), make_message())

    [received] = server.received
    assert received.mail_from == "otp@example.org"
    assert received.rcpt_tos == [TO]
    assert received.message["To"] == TO
    assert received.message["Auto-Submitted"] == "auto-generated"
    await server.wait_until_idle()


async def test_delivered_message_carries_the_code_once_per_part(smtp_server: StartServer) -> None:
    server = await smtp_server(tls="none")
    await send_message(server.settings(), make_message())

    message = server.received[0].message
    assert str(message["From"]) == "Zoë’s Gatekeeper <otp@example.org>"
    assert message["Subject"] == "Your verification code for Z"
    assert message["Date"].datetime is not None
    assert re.fullmatch(r"<[^@>]+@example\.org>", message["Message-ID"])
    # Non-ASCII display names travel as encoded words, never as raw 8-bit header bytes.
    raw_lines = server.received[0].raw.splitlines()
    raw_from = next(line for line in raw_lines if line.startswith(b"From:"))
    assert raw_from.isascii()
    assert b"=?utf-8?" in raw_from
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    for part in (plain, html):
        body = part.get_content()
        assert body.count(CODE) == 1
        assert re.findall(r"\d{6,}", body) == [CODE]


async def test_starttls_checks_the_certificate_through_ca_file(smtp_server: StartServer) -> None:
    # The server refuses MAIL before STARTTLS, so a delivery proves the upgrade happened.
    server = await smtp_server(tls="starttls")
    await send_message(server.settings(), make_message())
    assert len(server.received) == 1


async def test_implicit_tls(smtp_server: StartServer) -> None:
    server = await smtp_server(tls="implicit")
    await send_message(server.settings(), make_message())
    assert len(server.received) == 1


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
async def test_auth_accepted(smtp_server: StartServer, tls: str) -> None:
    server = await smtp_server(tls=tls, auth=("gate", PASSWORD))
    await send_message(server.settings(), make_message())
    assert server.auth_attempts == ["gate"]
    assert len(server.received) == 1


async def test_validate_certs_off_accepts_an_untrusted_certificate(
    smtp_server: StartServer, tls_certs: TlsCerts
) -> None:
    server = await smtp_server(tls="starttls", cert=tls_certs.untrusted)
    await send_message(server.settings(validate_certs=False, ca_file=None), make_message())
    assert len(server.received) == 1


async def test_a_failed_goodbye_after_delivery_is_still_a_success(smtp_server: StartServer) -> None:
    server = await smtp_server(quit_reply="500 5.5.1 Confused")
    await send_message(server.settings(), make_message())
    assert len(server.received) == 1


# --- refusals and TLS failures ------------------------------------------------------------


async def test_auth_refused(smtp_server: StartServer) -> None:
    server = await smtp_server(tls="starttls", auth=("gate", PASSWORD))
    error = await expect_failure(
        server,
        server.settings(password="wrong"),
        FailureKind.AUTH,
        sentence="The mail server refused the SMTP password; if it no longer accepts passwords "
        "(Microsoft 365, Gmail), log in with OAuth2 (smtp.oauth2_token_command).",
    )
    assert "535" in error.detail
    assert server.mail_from_seen == []


async def test_auth_not_offered(smtp_server: StartServer) -> None:
    server = await smtp_server(tls="none")
    await expect_failure(server, server.settings(username="gate"), FailureKind.AUTH)
    assert server.mail_from_seen == []


async def test_starttls_required_but_not_offered(smtp_server: StartServer) -> None:
    server = await smtp_server(tls="none")
    settings = server.settings(security="starttls", username="gate", password=PASSWORD)
    error = await expect_failure(
        server,
        settings,
        FailureKind.TLS,
        sentence="The server does not offer STARTTLS, which smtp.security requires.",
    )
    assert "STARTTLS" in error.detail
    # Nothing went out in clear: no password, no envelope.
    assert server.auth_attempts == []
    assert server.mail_from_seen == []


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
@pytest.mark.parametrize("which", ["untrusted", "wrong_host"])
async def test_bad_certificate(
    smtp_server: StartServer, tls_certs: TlsCerts, tls: str, which: str
) -> None:
    server = await smtp_server(tls=tls, cert=getattr(tls_certs, which), auth=("gate", PASSWORD))
    # The operator's sentence names the actual cause (`otp-tui check` prints it).
    cause = {
        "untrusted": "The server's certificate is not trusted (not signed by a known authority).",
        "wrong_host": "The server's certificate does not name this host (a name mismatch).",
    }[which]
    error = await expect_failure(server, server.settings(), FailureKind.TLS, sentence=cause)
    assert "CERTIFICATE_VERIFY_FAILED" in error.detail
    assert server.auth_attempts == []
    assert server.mail_from_seen == []


async def test_implicit_tls_against_a_plain_server(smtp_server: StartServer) -> None:
    server = await smtp_server(tls="none")
    await expect_failure(
        server,
        server.settings(security="tls"),
        FailureKind.TLS,
        sentence="The TLS handshake with the server failed.",
    )


async def test_missing_ca_file(smtp_server: StartServer, tmp_path: object) -> None:
    server = await smtp_server(tls="starttls")
    settings = server.settings(ca_file=f"{tmp_path}/no-such-ca.pem")
    await expect_failure(server, settings, FailureKind.TLS)
    assert server.connections_seen == 0


async def test_recipient_refused(smtp_server: StartServer) -> None:
    server = await smtp_server(rcpt_reply="550 5.1.1 No such user here")
    error = await expect_failure(server, server.settings(), FailureKind.RECIPIENT_REFUSED)
    assert "550" in error.detail


@pytest.mark.parametrize(
    "reply", ["421 4.3.2 Service shutting down", "450 4.2.1 Mailbox busy", "451 4.3.0 Try later"]
)
async def test_temporary_refusal_of_recipient(smtp_server: StartServer, reply: str) -> None:
    server = await smtp_server(rcpt_reply=reply)
    error = await expect_failure(server, server.settings(), FailureKind.TEMPORARY)
    assert reply[:3] in error.detail


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        ("451 4.3.0 Local error in processing", FailureKind.TEMPORARY),
        ("421 4.7.0 Too much mail, closing", FailureKind.TEMPORARY),
        ("554 5.7.1 Message rejected as spam", FailureKind.REJECTED),
    ],
)
async def test_data_refused(smtp_server: StartServer, reply: str, kind: FailureKind) -> None:
    server = await smtp_server(data_reply=reply)
    error = await expect_failure(server, server.settings(), kind)
    assert reply[:3] in error.detail


async def test_closed_port(closed_port: int, loopback_settings: LoopbackSettings) -> None:
    await expect_failure(None, loopback_settings(closed_port), FailureKind.UNREACHABLE)


# --- time limits: the deadline is the configured 1 s timeout, so these take about 1 s -------


async def test_no_banner_times_out(
    silent_listener: Callable[[], Awaitable[int]], loopback_settings: LoopbackSettings
) -> None:
    settings = loopback_settings(await silent_listener())
    started = time.monotonic()
    await expect_failure(None, settings, FailureKind.TIMEOUT)
    assert time.monotonic() - started < settings.timeout + 1


async def test_stall_in_data_times_out(smtp_server: StartServer) -> None:
    server = await smtp_server(stall_data=True)
    settings = server.settings()
    started = time.monotonic()
    await expect_failure(server, settings, FailureKind.TIMEOUT)
    assert time.monotonic() - started < settings.timeout + 1
    assert server.data_started.is_set()
    await server.wait_until_idle()


async def test_slow_drip_trips_the_whole_send_deadline(smtp_server: StartServer) -> None:
    # Every reply comes within the per-read timeout, but MAIL + RCPT together outlast it.
    server = await smtp_server(reply_delay=0.6)
    settings = server.settings()
    assert settings.timeout == 1.0
    started = time.monotonic()
    error = await expect_failure(server, settings, FailureKind.TIMEOUT)
    assert "deadline" in error.detail
    assert time.monotonic() - started < settings.timeout + 1


# --- cancellation -------------------------------------------------------------------------


@pytest.mark.parametrize("tls", ["none", "starttls"])
async def test_cancel_mid_send_closes_the_connection(smtp_server: StartServer, tls: str) -> None:
    server = await smtp_server(tls=tls, stall_data=True)
    task = asyncio.create_task(send_message(server.settings(timeout=30), make_message()))
    await asyncio.wait_for(server.data_started.wait(), 1.0)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The server sees the connection end promptly, not after the 30 s timeout.
        await server.wait_until_idle()
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    assert server.received == []
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []


# --- the envelope is the validated address, and the To header must say exactly it ---------


@pytest.mark.parametrize(
    "to",
    [
        "=?utf-8?q?=61lice?=@corp.example",  # decodes to alice@corp.example
        "=?utf-8?b?YXR0YWNrZXJAZXZpbC5jb20sIGI=?=@corp.example",  # to "attacker@evil.com, b"
        "a@example.com, mallory@evil.example",
        "Mallory <mallory@evil.example>",
        "a(comment)@example.com",
    ],
)
async def test_an_address_the_to_header_would_change_is_never_sent(
    smtp_server: StartServer, to: str
) -> None:
    server = await smtp_server()
    sender = SenderSettings(address="otp@example.org")
    message = build_message(sender, to, OneTimeCode(CODE), ttl_seconds=600, requested_from="h")

    with pytest.raises(SendError) as caught:
        await send_message(server.settings(), message)

    assert caught.value.kind is FailureKind.RECIPIENT_REFUSED
    assert str(caught.value) == "This address cannot be used; check it for typos or use another."
    assert to not in str(caught.value)
    assert server.connections_seen == 0


async def test_a_to_header_changed_after_building_is_refused(smtp_server: StartServer) -> None:
    server = await smtp_server()
    message = make_message()
    message.replace_header("To", "mallory@evil.example")

    with pytest.raises(SendError):
        await send_message(server.settings(), message)
    assert server.connections_seen == 0


async def test_the_envelope_is_the_one_built_not_the_headers(smtp_server: StartServer) -> None:
    server = await smtp_server()
    message = make_message()
    # Headers a parser would take recipients from; the envelope must ignore them.
    message["Cc"] = "carol@evil.example"
    message["Bcc"] = "bcc@evil.example"
    message["Sender"] = "bounce@evil.example"

    await send_message(server.settings(), message)

    [received] = server.received
    assert received.rcpt_tos == [TO]
    assert received.mail_from == "otp@example.org"


async def test_only_a_built_message_is_sent(smtp_server: StartServer) -> None:
    server = await smtp_server()
    message = EmailMessage()
    message["To"] = TO
    with pytest.raises(TypeError):
        await send_message(server.settings(), message)
    assert server.connections_seen == 0
