"""Logging in: passwords from a command, OAuth2 (AUTH XOAUTH2) with a token from a command.

Against real aiosmtpd servers on loopback (the XOAUTH2 one checks the SASL string itself) and
real commands run as child processes. No secret may reach a log record, an error or `check`.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from otp_tui.config.loading import ConfigError, ConfigFile, load_settings
from otp_tui.config.schema import SenderSettings, Settings, SmtpSettings
from otp_tui.core.codes import OneTimeCode
from otp_tui.mail.check import run_check
from otp_tui.mail.credentials import Login, scrub
from otp_tui.mail.errors import FailureKind, SendError
from otp_tui.mail.message import build_message
from otp_tui.mail.sender import send_message

if TYPE_CHECKING:
    from conftest import StartServer

TOKEN = "ya29.a0-Token-Secret-5510"
PASSWORD = "pw-from-the-vault-8812"
ACCOUNT = "gate@example.org"


def message() -> Any:
    sender = SenderSettings(address="otp@example.org")
    return build_message(
        sender, "alice@example.com", OneTimeCode("604211"), ttl_seconds=600, requested_from="h"
    )


def printing(tmp_path: Path, text: str, *, stderr: str = "", status: int = 0) -> tuple[str, ...]:
    """A real command (a small script) that prints `text`, writes `stderr`, exits `status`."""
    script = tmp_path / f"secret-{abs(hash((text, stderr, status)))}.py"
    script.write_text(
        "import sys\n"
        f"sys.stdout.write({text!r})\n"
        f"sys.stderr.write({stderr!r})\n"
        f"sys.exit({status})\n"
    )
    return (sys.executable, str(script))


HANGING = (sys.executable, "-c", "import signal; signal.pause()")


def secret_forms(*secrets: str) -> list[str]:
    forms = []
    for secret in secrets:
        forms += [secret, base64.b64encode(secret.encode()).decode()]
    forms.append(
        base64.b64encode(f"user={ACCOUNT}\x01auth=Bearer {TOKEN}\x01\x01".encode()).decode()
    )
    forms.append(base64.b64encode(f"\x00{ACCOUNT}\x00{PASSWORD}".encode()).decode())
    return forms


def assert_nothing_leaked(*texts: str) -> None:
    for text in texts:
        for form in secret_forms(TOKEN, PASSWORD):
            assert form not in text


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


# --- OAuth2 -------------------------------------------------------------------------------


async def test_xoauth2_with_a_good_token_delivers(
    smtp_server: StartServer, tmp_path: Path, debug_log: pytest.LogCaptureFixture
) -> None:
    server = await smtp_server(tls="starttls", xoauth2=(ACCOUNT, TOKEN))
    settings = server.settings(oauth2_token_command=printing(tmp_path, TOKEN + "\nignored\n"))

    await send_message(settings, message())

    assert server.auth_attempts == [ACCOUNT]
    assert len(server.received) == 1
    assert_nothing_leaked(debug_log.text)


async def test_xoauth2_with_a_wrong_token_is_an_auth_failure(
    smtp_server: StartServer, tmp_path: Path, debug_log: pytest.LogCaptureFixture
) -> None:
    server = await smtp_server(tls="starttls", xoauth2=(ACCOUNT, "another-token"))
    settings = server.settings(oauth2_token_command=printing(tmp_path, TOKEN))

    with pytest.raises(SendError) as caught:
        await send_message(settings, message())

    error = caught.value
    assert error.kind is FailureKind.AUTH
    assert "535" in error.detail
    assert server.received == []
    assert server.mail_from_seen == []
    assert_nothing_leaked(str(error), error.detail, repr(error), debug_log.text)


async def test_a_server_without_xoauth2_is_an_auth_failure_that_says_so(
    smtp_server: StartServer, tmp_path: Path
) -> None:
    server = await smtp_server(tls="starttls", auth=(ACCOUNT, PASSWORD))
    settings = server.settings(
        password=None, oauth2_token_command=printing(tmp_path, TOKEN), username=ACCOUNT
    )

    with pytest.raises(SendError) as caught:
        await send_message(settings, message())

    assert caught.value.kind is FailureKind.AUTH
    assert "XOAUTH2" in str(caught.value)
    assert "not XOAUTH2" in caught.value.detail
    assert server.auth_attempts == [], "the token was not offered to another mechanism"


# --- secret commands that go wrong --------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "sentence"),
    [
        ("fails", "failed (exit status 3)"),
        ("empty", "printed nothing"),
        ("blank line", "printed nothing"),
        ("missing", "could not be started"),
    ],
)
@pytest.mark.parametrize("which", ["oauth2_token_command", "password_command"])
async def test_a_broken_command_is_an_auth_failure_naming_the_command(
    smtp_server: StartServer,
    tmp_path: Path,
    debug_log: pytest.LogCaptureFixture,
    command: str,
    sentence: str,
    which: str,
) -> None:
    server = await smtp_server(tls="starttls", auth=(ACCOUNT, PASSWORD), xoauth2=(ACCOUNT, TOKEN))
    argv = {
        "fails": printing(tmp_path, TOKEN, stderr=f"vault locked; last {TOKEN}\n", status=3),
        "empty": printing(tmp_path, ""),
        "blank line": printing(tmp_path, "\n" + TOKEN + "\n"),
        "missing": (str(tmp_path / "no-such-helper"), "--flag"),
    }[command]
    settings = server.settings(password=None, **{which: argv})

    with pytest.raises(SendError) as caught:
        await send_message(settings, message())

    error = caught.value
    assert error.kind is FailureKind.AUTH
    program = Path(argv[0]).name
    assert f"({program}) {sentence}." in str(error)
    assert server.connections_seen == 0, "no connection is made without a secret"
    assert_nothing_leaked(str(error), error.detail, repr(error), debug_log.text)
    if command == "fails":
        # The command's stderr reaches the debug log, with the secret taken out of it.
        assert "vault locked; last ***" in debug_log.text


async def test_a_hanging_command_is_killed_at_its_time_limit(
    smtp_server: StartServer,
) -> None:
    server = await smtp_server(tls="starttls", xoauth2=(ACCOUNT, TOKEN))
    settings = server.settings(oauth2_token_command=HANGING, command_timeout=0.3, timeout=30)

    started = time.monotonic()
    with pytest.raises(SendError) as caught:
        await send_message(settings, message())

    assert time.monotonic() - started < 3
    assert caught.value.kind is FailureKind.AUTH
    assert "did not finish within 0.3 s" in str(caught.value)
    assert server.connections_seen == 0


# --- passwords ----------------------------------------------------------------------------


async def test_password_command_delivers(
    smtp_server: StartServer, tmp_path: Path, debug_log: pytest.LogCaptureFixture
) -> None:
    server = await smtp_server(tls="implicit", auth=(ACCOUNT, PASSWORD))
    settings = server.settings(password=None, password_command=printing(tmp_path, PASSWORD + "\n"))

    await send_message(settings, message())

    assert server.auth_attempts == [ACCOUNT]
    assert len(server.received) == 1
    assert_nothing_leaked(debug_log.text)


@pytest.mark.parametrize(
    "reply",
    [
        "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.",
        "550 5.7.30 Basic authentication is not supported for Client Submission.",
    ],
)
async def test_a_server_that_stopped_taking_passwords_points_to_oauth2(
    smtp_server: StartServer, reply: str
) -> None:
    server = await smtp_server(tls="starttls", auth=(ACCOUNT, "unused"), auth_reply=reply)

    with pytest.raises(SendError) as caught:
        await send_message(server.settings(password=PASSWORD), message())

    assert caught.value.kind is FailureKind.AUTH
    assert "no longer accepts passwords" in str(caught.value)
    assert "smtp.oauth2_token_command" in str(caught.value)


async def test_a_wrong_password_mentions_oauth2_as_a_possibility(smtp_server: StartServer) -> None:
    server = await smtp_server(tls="starttls", auth=(ACCOUNT, PASSWORD))

    with pytest.raises(SendError) as caught:
        await send_message(server.settings(password="wrong"), message())

    assert caught.value.kind is FailureKind.AUTH
    assert "refused the SMTP password" in str(caught.value)
    assert "oauth2_token_command" in str(caught.value)


async def test_a_server_echoing_the_password_has_it_scrubbed(smtp_server: StartServer) -> None:
    server = await smtp_server(
        tls="starttls", auth=(ACCOUNT, "other"), auth_reply=f"535 5.7.8 bad password {PASSWORD}"
    )

    with pytest.raises(SendError) as caught:
        await send_message(server.settings(password=PASSWORD), message())

    assert "bad password ***" in caught.value.detail
    assert_nothing_leaked(caught.value.detail)


def test_scrub_masks_plain_and_base64_forms() -> None:
    encoded = base64.b64encode(b"s3cret").decode()
    assert scrub(f"a s3cret b {encoded}", "s3cret") == "a *** b ***"
    assert scrub("nothing here", "") == "nothing here"


def test_a_login_never_shows_its_secret() -> None:
    login = Login(ACCOUNT, TOKEN, oauth2=True, source="oama")
    assert TOKEN not in repr(login)
    assert TOKEN not in str(login)


# --- otp-tui check ------------------------------------------------------------------------


def check_settings(smtp: SmtpSettings) -> Settings:
    return Settings(smtp=smtp, sender=SenderSettings(address="otp@example.org"))


async def test_check_runs_the_token_command_and_names_the_mechanism(
    smtp_server: StartServer, tmp_path: Path, debug_log: pytest.LogCaptureFixture
) -> None:
    server = await smtp_server(tls="starttls", xoauth2=(ACCOUNT, TOKEN))
    command = printing(tmp_path, TOKEN)
    out = io.StringIO()

    status = await run_check(check_settings(server.settings(oauth2_token_command=command)), out)

    output = out.getvalue()
    assert status == 0, output
    assert f"  token command     ok ({Path(command[0]).name})\n" in output
    assert f"  AUTH              XOAUTH2 ok (as {ACCOUNT})\n" in output
    assert server.received == []
    assert_nothing_leaked(output, debug_log.text)


async def test_check_names_the_password_mechanism(smtp_server: StartServer) -> None:
    server = await smtp_server(tls="starttls", auth=(ACCOUNT, PASSWORD))
    out = io.StringIO()

    assert await run_check(check_settings(server.settings()), out) == 0

    assert f"  AUTH              PLAIN ok (as {ACCOUNT})\n" in out.getvalue()
    assert_nothing_leaked(out.getvalue())


async def test_check_reports_a_failing_command_and_connects_to_nothing(
    smtp_server: StartServer, tmp_path: Path
) -> None:
    server = await smtp_server(tls="starttls", auth=(ACCOUNT, PASSWORD))
    command = printing(tmp_path, PASSWORD, stderr=PASSWORD, status=1)
    out = io.StringIO()

    settings = check_settings(server.settings(password=None, password_command=command))
    status = await run_check(settings, out)

    output = out.getvalue()
    assert status == 1
    assert "  password command  failed (auth) The command that gives the SMTP password" in output
    assert "  connect           skipped\n" in output
    assert server.connections_seen == 0
    assert_nothing_leaked(output)


# --- configuration ------------------------------------------------------------------------


def load(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(
        '[sender]\naddress = "otp@example.org"\n[smtp]\nhost = "mx.example.org"\n' + text
    )
    return load_settings(ConfigFile(path, explicit=True), environ={})


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return caught.value.problems


def test_commands_are_argv_lists(tmp_path: Path) -> None:
    settings = load(tmp_path, 'username = "u"\npassword_command = ["pass", "show", "mail/smtp"]\n')
    assert settings.smtp.password_command == ("pass", "show", "mail/smtp")
    settings = load(tmp_path, 'username = "u"\noauth2_token_command = ["oama", "access", "u"]\n')
    assert settings.smtp.oauth2_token_command == ("oama", "access", "u")


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ('password = "x"\npassword_command = ["p"]', "either password or password_command"),
        ('password_command = ["p"]\noauth2_token_command = ["t"]', "excludes password_command"),
        ('password = "x"\noauth2_token_command = ["t"]', "excludes password"),
        ("password_command = []", "must name a program"),
        ('password_command = [""]', "must name a program"),
        ('password_command = "pass show smtp"', "valid tuple"),
    ],
)
def test_one_way_to_log_in(tmp_path: Path, keys: str, expected: str) -> None:
    lines = problems(tmp_path, 'username = "u"\n' + keys + "\n")
    assert any(expected in line for line in lines), lines
    assert all(len(line.splitlines()) == 1 for line in lines)


def test_oauth2_needs_the_account(tmp_path: Path) -> None:
    lines = problems(tmp_path, 'oauth2_token_command = ["t"]\n')
    assert any("needs username" in line for line in lines), lines


async def test_a_password_helper_that_leaves_an_agent_behind_delivers_and_the_agent_is_ended(
    smtp_server: StartServer, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # As `pass` starting gpg-agent: the helper prints the password and exits, the agent
    # `setsid`s away holding the output pipe. The password counts once read; nothing survives.
    server = await smtp_server(tls="implicit", auth=(ACCOUNT, PASSWORD))
    marker = tmp_path / "agent-pid"
    helper = tmp_path / "helper"
    helper.write_text(
        f"#!/bin/sh\necho {PASSWORD}\n"
        f"setsid sh -c 'echo $$ > {marker}; exec sleep 300' &\nsleep 0.2\n"
    )
    helper.chmod(0o755)
    settings = server.settings(password=None, password_command=(str(helper),), command_timeout=5)

    started = time.monotonic()
    await send_message(settings, message())

    assert time.monotonic() - started < 4
    assert len(server.received) == 1
    agent = int(marker.read_text())
    deadline = time.monotonic() + 5
    while _state(agent) != "Z":
        assert time.monotonic() < deadline, "the helper's agent was left running"
        await asyncio.sleep(0.01)
    assert "Event loop is closed" not in capfd.readouterr().err


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "Z"


@pytest.mark.parametrize("mechanism", ["PLAIN", "XOAUTH2"])
async def test_check_never_prints_what_an_echoing_server_sends_back(
    smtp_server: StartServer, tmp_path: Path, debug_log: pytest.LogCaptureFixture, mechanism: str
) -> None:
    # The server answers the login with the whole payload the client sent, in base64.
    if mechanism == "PLAIN":
        secret, payload = PASSWORD, f"\x00{ACCOUNT}\x00{PASSWORD}"
    else:
        secret, payload = TOKEN, f"user={ACCOUNT}\x01auth=Bearer {TOKEN}\x01\x01"
    echoed = base64.b64encode(payload.encode()).decode()
    reply = f"535 5.7.8 you sent {echoed} and {secret}"
    if mechanism == "PLAIN":
        server = await smtp_server(tls="starttls", auth=(ACCOUNT, "other"), auth_reply=reply)
        settings = server.settings(password=PASSWORD)
    else:
        server = await smtp_server(tls="starttls", xoauth2=(ACCOUNT, "other"), auth_reply=reply)
        settings = server.settings(oauth2_token_command=printing(tmp_path, TOKEN))
    out = io.StringIO()

    assert await run_check(check_settings(settings), out) == 1

    output = out.getvalue()
    assert "you sent ***" in output, output
    # The client side's log (the test server's own log, mail.log, is not this program's).
    ours = "\n".join(r.getMessage() for r in debug_log.records if r.name != "mail.log")
    assert "you sent ***" in ours
    assert_nothing_leaked(output, ours)
