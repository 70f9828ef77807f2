"""`otp-tui check` against real servers: one line per step, exit status 0 or 1, no mail sent."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from otp_tui.config.schema import SenderSettings, Settings, SmtpSettings
from otp_tui.mail.check import check_main, run_check
from otp_tui.mail.errors import FailureKind

if TYPE_CHECKING:
    from collections.abc import Callable

    from conftest import StartServer, TlsCerts

PASSWORD = "s3cret-pw-771903"


def settings_for(smtp: SmtpSettings) -> Settings:
    return Settings(smtp=smtp, sender=SenderSettings(address="otp@example.org"))


def step_lines(output: str) -> dict[str, str]:
    """{"connect": "ok", "AUTH": "failed (auth) ...", ...} from the indented step lines."""
    steps = {}
    for line in output.splitlines():
        match = re.fullmatch(
            r"  (connect|EHLO|STARTTLS|AUTH|QUIT|CA file|trust store)\s+(.*)", line
        )
        if match:
            steps[match.group(1)] = match.group(2)
    return steps


async def test_good_server(smtp_server: StartServer) -> None:
    server = await smtp_server(tls="starttls", auth=("gate", PASSWORD))
    out = io.StringIO()

    status = await run_check(settings_for(server.settings()), out)

    output = out.getvalue()
    assert status == 0, output
    steps = step_lines(output)
    assert list(steps) == ["CA file", "connect", "EHLO", "STARTTLS", "AUTH", "QUIT"]
    assert all("ok" in result for result in steps.values())
    assert steps["STARTTLS"] == "ok (certificate checked)"
    assert steps["AUTH"] == "PLAIN ok (as gate)"
    assert output.endswith("All steps passed.\n")
    assert PASSWORD not in output
    assert server.auth_attempts == ["gate"]
    assert server.mail_from_seen == []
    assert server.received == []
    await server.wait_until_idle()


async def test_bad_password(smtp_server: StartServer) -> None:
    server = await smtp_server(tls="starttls", auth=("gate", PASSWORD))
    out = io.StringIO()

    status = await run_check(settings_for(server.settings(password="wrong-pw")), out)

    output = out.getvalue()
    assert status == 1
    steps = step_lines(output)
    assert steps["STARTTLS"].startswith("ok")
    assert steps["AUTH"].startswith("failed (auth) The mail server refused the SMTP password")
    assert steps["QUIT"] == "skipped"
    assert "535" in output, "an operator sees the server's reply"
    assert "wrong-pw" not in output
    assert PASSWORD not in output
    assert output.endswith("Check failed.\n")


async def test_closed_port(
    closed_port: int, loopback_settings: Callable[..., SmtpSettings]
) -> None:
    out = io.StringIO()

    status = await run_check(settings_for(loopback_settings(closed_port)), out)

    steps = step_lines(out.getvalue())
    assert status == 1
    # Worded for the operator: the cause, then the fix; never the end user's "tell whoever
    # runs this service".
    assert steps["connect"] == (
        f"failed (unreachable) Nothing accepts connections at 127.0.0.1 port {closed_port}."
    )
    assert FailureKind.UNREACHABLE.message not in out.getvalue()
    assert "fix: check smtp.host and smtp.port" in out.getvalue()
    assert steps["EHLO"] == "skipped"
    assert steps["QUIT"] == "skipped"


async def test_a_server_that_offers_no_login_is_not_said_to_refuse_it(
    smtp_server: StartServer,
) -> None:
    # aiosmtpd offers AUTH only over TLS: in plain text its EHLO has no AUTH, like a relay
    # that takes mail from this host without a login.
    server = await smtp_server(tls="none")
    out = io.StringIO()

    status = await run_check(settings_for(server.settings(username="gate", password=PASSWORD)), out)

    output = out.getvalue()
    assert status == 1
    assert step_lines(output)["AUTH"] == (
        "failed (auth) The server offers no login at all (no AUTH in its answer to EHLO)."
    )
    assert "did not accept" not in output
    assert "fix: remove smtp.username if the server relays without a login" in output
    await server.wait_until_idle()


async def test_a_local_relay_without_starttls_is_pointed_at_security_none(
    smtp_server: StartServer,
) -> None:
    server = await smtp_server(tls="none")
    out = io.StringIO()

    status = await run_check(settings_for(server.settings(security="starttls")), out)

    output = out.getvalue()
    assert status == 1
    assert step_lines(output)["STARTTLS"].startswith("failed (tls)")
    assert 'fix: a relay on this machine often speaks no TLS: set security = "none"' in output
    await server.wait_until_idle()


async def test_untrusted_certificate(smtp_server: StartServer, tls_certs: TlsCerts) -> None:
    server = await smtp_server(tls="implicit", cert=tls_certs.untrusted)
    out = io.StringIO()

    status = await run_check(settings_for(server.settings()), out)

    steps = step_lines(out.getvalue())
    assert status == 1
    assert steps["connect"].startswith("failed (tls)")
    assert steps["EHLO"] == "skipped"


async def test_missing_ca_file(smtp_server: StartServer, tmp_path: Path) -> None:
    server = await smtp_server(tls="starttls")
    out = io.StringIO()

    status = await run_check(settings_for(server.settings(ca_file=tmp_path / "none.pem")), out)

    steps = step_lines(out.getvalue())
    assert status == 1
    assert steps["CA file"].startswith("failed (tls)")
    assert steps["connect"] == "skipped"
    assert server.connections_seen == 0


async def test_certificate_checks_off_are_announced(
    smtp_server: StartServer, tls_certs: TlsCerts
) -> None:
    server = await smtp_server(tls="starttls", cert=tls_certs.untrusted)
    out = io.StringIO()

    status = await run_check(settings_for(server.settings(validate_certs=False)), out)

    assert status == 0
    assert "certificate checks are off" in out.getvalue()
    assert step_lines(out.getvalue())["STARTTLS"] == "ok (certificate NOT checked)"


async def test_demo_mode(tmp_path: Path) -> None:
    out = io.StringIO()

    status = await run_check(Settings(), out, outbox_dir=tmp_path / "outbox")

    output = out.getvalue()
    assert status == 0, output
    assert output.startswith("Demo mode is active")
    assert str(tmp_path / "outbox") in output
    assert "Checking 127.0.0.1 port " in output
    steps = step_lines(output)
    assert list(steps) == ["connect", "EHLO", "AUTH", "QUIT"]
    assert steps["AUTH"] == "PLAIN ok (as otp-tui-demo)", "the run's own outbox login"
    assert list((tmp_path / "outbox" / "new").iterdir()) == [], "check sends no mail"


def test_check_main_runs_its_own_loop(tmp_path: Path) -> None:
    out = io.StringIO()
    assert check_main(Settings(), out, outbox_dir=tmp_path) == 0
    assert "All steps passed." in out.getvalue()


def test_every_step_label_is_followed_by_a_gap(tmp_path: Path) -> None:
    # "trust store" is the longest label; it once ran straight into its result ("trust storeok").
    out = io.StringIO()
    settings = Settings(
        smtp=SmtpSettings(host="127.0.0.1", port=9), sender=SenderSettings(address="a@b.co")
    )
    check_main(settings, out)
    lines = [line for line in out.getvalue().splitlines() if line.startswith("  trust store")]
    assert lines
    assert lines[0].startswith("  trust store  ")


HOSTILE = "535 5.7.8 \x1b]0;pwned\x07\x1b[2J\x1b]52;c;ZXZpbA==\x07 no"


async def test_a_hostile_reply_reaches_the_terminal_as_visible_escapes(
    smtp_server: StartServer,
) -> None:
    server = await smtp_server(tls="starttls", auth=("gate", PASSWORD), auth_reply=HOSTILE)
    out = io.StringIO()

    status = await run_check(settings_for(server.settings(password="wrong")), out)

    output = out.getvalue()
    assert status == 1
    assert "\x1b" not in output
    assert "\x07" not in output
    assert "535 5.7.8 \\x1b]0;pwned\\x07\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07 no" in output
    assert all(char == "\n" or char.isprintable() for char in output)
