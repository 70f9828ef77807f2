"""What the built-in mail says, as a mail client shows it after a real SMTP server took it.

Both parts, in English and in German: the service it is for, that nobody will ask for the code,
where it was asked for in words a person reads, and, for a login, who is logging in where and
what to do if it was not them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from otp_tui.config.schema import SenderSettings
from otp_tui.core.codes import OneTimeCode
from otp_tui.language import use_language
from otp_tui.mail.message import Origin, build_message
from otp_tui.mail.sender import send_message

SENDER = SenderSettings(address="otp@example.org", service="Acme VPN")
CODE = "481516"


@pytest.fixture(params=["en", "de"])
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    use_language(request.param)
    yield request.param
    use_language("en")


async def delivered(smtp_server, origin: Origin) -> tuple[EmailMessage, str, str]:
    server = await smtp_server()
    message = build_message(
        SENDER, "bob@example.com", OneTimeCode(CODE), ttl_seconds=600, requested_from=origin
    )
    await send_message(server.settings(), message)
    received = server.received[0].message
    text = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    # Sentences may be folded across lines in the HTML source; a reader sees spaces.
    return received, " ".join(text.split()), " ".join(html.split())


WORDS = {
    "en": {
        "subject": "Your verification code for Acme VPN",
        "lead": "Your verification code for Acme VPN is:",
        "never": "Do not give this code to anyone: nobody will ever ask you for it.",
        "where": "It was asked for on the computer bastion, over SSH from 203.0.113.9.",
        "ignore": "If you did not ask for this code, you can ignore this email.",
        "login": "Someone is logging in to bastion as alice from 203.0.113.9; "
        "if this was not you, tell your administrator.",
        "local login": "Someone is logging in to bastion as alice; "
        "if this was not you, tell your administrator.",
    },
    "de": {
        "subject": "Ihr Bestätigungscode für Acme VPN",
        "lead": "Ihr Bestätigungscode für Acme VPN lautet:",
        "never": "Geben Sie diesen Code niemandem weiter: Niemand wird Sie je danach fragen.",
        "where": "Er wurde auf dem Rechner bastion angefordert, über SSH von 203.0.113.9.",
        "ignore": "Wenn Sie diesen Code nicht angefordert haben, können Sie diese E-Mail "
        "ignorieren.",
        "login": "Jemand meldet sich bei bastion als alice von 203.0.113.9 aus an; "
        "wenn Sie das nicht waren, wenden Sie sich an Ihren Administrator.",
        "local login": "Jemand meldet sich bei bastion als alice an; "
        "wenn Sie das nicht waren, wenden Sie sich an Ihren Administrator.",
    },
}


async def test_a_request_names_service_origin_and_never_share(smtp_server, language):
    message, text, html = await delivered(smtp_server, Origin("bastion", "203.0.113.9"))
    words = WORDS[language]
    assert message["Subject"] == words["subject"]
    assert str(message["From"]) == "Acme VPN <otp@example.org>"
    for part in (text, html):
        for key in ("lead", "never", "where", "ignore"):
            assert words[key] in part, (key, part)
        assert words["login"] not in part
        assert len(re.findall(rf"(?<!\d){CODE}(?!\d)", part)) == 1


async def test_a_login_says_who_logs_in_where_and_whom_to_tell(smtp_server, language):
    _, text, html = await delivered(smtp_server, Origin("bastion", "203.0.113.9", "alice"))
    words = WORDS[language]
    for part in (text, html):
        assert words["login"] in part
        assert words["never"] in part
        # "Ignore it" is wrong advice for a login: someone already holds a way in.
        assert words["ignore"] not in part
        assert words["where"] not in part


async def test_a_login_without_ssh_names_no_address(smtp_server, language):
    _, text, html = await delivered(smtp_server, Origin("bastion", None, "alice"))
    for part in (text, html):
        assert WORDS[language]["local login"] in part


async def test_a_login_user_is_escaped_in_the_html(smtp_server):
    _, _, html = await delivered(smtp_server, Origin("<b>bastion</b>", None, "a&b"))
    assert "<b>bastion</b>" not in html
    assert "&lt;b&gt;bastion&lt;/b&gt; as a&amp;b" in html
