"""A run in German, against a real SMTP server on loopback: the words change, nothing else."""

from __future__ import annotations

import re
import socket

import pytest
from test_run import ADDRESS, code_in, headline, new_run, said, send_to_code, wrong

from otp_tui.flow.views import Finished
from otp_tui.language import use_language


@pytest.fixture
def german():
    use_language("de")
    yield
    use_language("en")


async def test_the_mail_is_german_with_the_code_once_in_each_part(smtp_server, german):
    server = await smtp_server()
    run, _, _ = new_run(server.settings())
    await send_to_code(run)
    message = server.received[0].message
    here = socket.gethostname()
    assert message["Subject"] == f"Ihr Bestätigungscode für {here}"
    assert message["Content-Language"] == "de"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    code = code_in(message)
    for part in (text, html):
        assert len(re.findall(rf"(?<!\d){code}(?!\d)", part)) == 1
        assert f"Ihr Bestätigungscode für {here} lautet:" in part
        assert "Er gilt 10 Minuten lang." in part
        assert "Wenn Sie diesen Code nicht angefordert haben" in part
        assert "verification" not in part
    assert '<html lang="de">' in html
    await run.close()


async def test_the_screens_words_are_german_and_the_result_is_not(smtp_server, german):
    server = await smtp_server()
    run, _, audit = new_run(server.settings(), policy={"max_attempts": 3})
    await send_to_code(run)
    code = code_in(server.received[0].message)
    first = await run.submit_code(wrong(code))
    assert said(first) == "Falscher Code: noch 2 Versuche."
    second = await run.submit_code(wrong(code))
    assert said(second) == "Falscher Code: noch 1 Versuch."
    ending = await run.submit_code(code)
    assert isinstance(ending, Finished)
    assert headline(ending) == "Bestätigt"
    # What a script reads is the same in every language.
    assert ending.result.to_json() == (
        '{"verified": true, "email": "user@example.com", "reason": "verified", '
        '"sends": 1, "wrong_attempts": 2}'
    )
    assert ending.exit_status == 0
    assert audit.events == ["send_requested", "sent", "wrong_code", "wrong_code", "verified"]
    await run.close()


async def test_an_operators_subject_is_kept_as_written(smtp_server, german):
    from otp_tui.config.schema import SenderSettings

    server = await smtp_server()
    run, _, _ = new_run(server.settings())
    run._delivery._settings = run._delivery._settings.model_copy(
        update={"sender": SenderSettings(address="otp@example.com", subject="Login code")}
    )
    await send_to_code(run, ADDRESS)
    assert server.received[0].message["Subject"] == "Login code"
    await run.close()


async def test_a_login_run_mails_who_is_logging_in_in_german(smtp_server, german, monkeypatch):
    from fakes import FakeClock

    from otp_tui.config.schema import SenderSettings, Settings
    from otp_tui.core.limits import MemoryLedger
    from otp_tui.flow.build import make_run

    server = await smtp_server()
    # No origin given: the run reads this host and the SSH client, as the gate does.
    monkeypatch.setenv("SSH_CONNECTION", "203.0.113.9 52144 10.0.0.5 22")
    monkeypatch.setattr("socket.gethostname", lambda: "bastion")
    wall = FakeClock(1_767_268_800.0)
    run = make_run(
        Settings(
            smtp=server.settings(),
            sender=SenderSettings(address="otp@example.com", service="Acme VPN"),
        ),
        email=ADDRESS,
        demo=False,
        ledger=MemoryLedger(wall),
        clock=FakeClock(),
        wall_clock=wall,
        login_user="alice",
    )
    await send_to_code(run, ADDRESS)
    message = server.received[0].message
    assert message["Subject"] == "Ihr Bestätigungscode für Acme VPN"
    for kind in ("plain", "html"):
        part = " ".join(message.get_body(preferencelist=(kind,)).get_content().split())
        assert (
            "Jemand meldet sich bei bastion als alice von 203.0.113.9 aus an; "
            "wenn Sie das nicht waren, wenden Sie sich an Ihren Administrator." in part
        )
        assert "ignorieren" not in part
    await run.close()
