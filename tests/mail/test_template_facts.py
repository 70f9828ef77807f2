"""The operator's templates get the facts the built-in mail tells: the service, the host, the SSH
client, and in a login (the gate, PAM) the account being logged in to.

Each mail goes through a real SMTP server on loopback and is read back as a mail client shows
it. The shipped example set words a login apart, in English and German.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from otp_tui.config.schema import SenderSettings
from otp_tui.config.templates import PLACEHOLDERS, TemplateProblem, check_templates
from otp_tui.core.codes import OneTimeCode
from otp_tui.mail.message import Origin, build_message
from otp_tui.mail.sender import send_message

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "templates"
SENDER = SenderSettings(address="otp@example.org", service="Acme VPN")
CODE = "481516"
FACTS = "{{ service }}|{{ host }}|{{ client }}|{{ login_user }}|{{ code }}\n"


async def delivered(
    smtp_server, origin: Origin, templates: Path, language: str = "en"
) -> tuple[str, str]:
    server = await smtp_server()
    message = build_message(
        SENDER,
        "bob@example.com",
        OneTimeCode(CODE),
        ttl_seconds=600,
        requested_from=origin,
        templates=templates,
        language=language,
    )
    await send_message(server.settings(), message)
    received: EmailMessage = server.received[0].message
    plain_part = received.get_body(preferencelist=("plain",))
    html_part = received.get_body(preferencelist=("html",))
    assert plain_part is not None
    assert html_part is not None
    text, html = plain_part.get_content(), html_part.get_content()
    return " ".join(text.split()), " ".join(html.split())


def facts(tmp_path: Path) -> Path:
    (tmp_path / "body.txt").write_text(FACTS)
    (tmp_path / "body.html").write_text("<p>" + FACTS.strip() + "</p>")
    return tmp_path


def test_the_placeholders_include_the_facts_of_the_built_in_mail() -> None:
    assert {"service", "host", "client", "login_user"} <= PLACEHOLDERS


@pytest.mark.parametrize(
    ("origin", "shown"),
    [
        (Origin("bastion", "203.0.113.9", "alice"), "Acme VPN|bastion|203.0.113.9|alice|"),
        (Origin("bastion", None, "alice"), "Acme VPN|bastion||alice|"),
        (Origin("laptop"), "Acme VPN|laptop|||"),  # no SSH, no login: empty, never "None"
    ],
    ids=["gate over ssh", "local login", "no login"],
)
async def test_each_fact_reaches_both_parts(
    smtp_server, tmp_path: Path, origin: Origin, shown: str
) -> None:
    text, html = await delivered(smtp_server, origin, facts(tmp_path))
    assert text == shown + CODE
    assert html == f"<p>{shown}{CODE}</p>"


async def test_the_facts_are_escaped_in_the_html_part(smtp_server, tmp_path: Path) -> None:
    text, html = await delivered(
        smtp_server, Origin("<b>bastion</b>", None, "a&b"), facts(tmp_path)
    )
    assert "<b>bastion</b>|" in text  # the text part is text
    assert "&lt;b&gt;bastion&lt;/b&gt;||a&amp;b|" in html


def test_a_fact_with_a_line_break_is_refused_before_any_mail(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="origin must not contain line breaks"):
        build_message(
            SENDER,
            "bob@example.com",
            OneTimeCode(CODE),
            ttl_seconds=600,
            requested_from=Origin("bastion", None, "alice\nBcc: x@example.org"),
            templates=facts(tmp_path),
        )


def test_a_template_that_breaks_a_rule_only_in_a_login_is_refused_at_load(tmp_path: Path) -> None:
    # Checked with a login sample too: otherwise the first gate login would find it.
    (tmp_path / "body.txt").write_text("{{ code }}{% if login_user %} {{ code }}{% endif %}\n")
    with pytest.raises(TemplateProblem, match="exactly once"):
        check_templates(tmp_path, code_length=6, ttl_seconds=600, sender_name="Acme")


@pytest.mark.parametrize(
    ("language", "login", "elsewhere"),
    [
        (
            "en",
            "Someone is logging in to bastion as alice from 203.0.113.9. "
            "If that was not you, tell your administrator.",
            "If that was not you, ignore this email",
        ),
        (
            "de",
            "Jemand meldet sich auf bastion als alice an (von 203.0.113.9). "
            "Wenn Sie das nicht waren, wenden Sie sich an Ihre Administration.",
            "ignorieren Sie diese E-Mail",
        ),
    ],
)
async def test_the_example_set_words_a_login_apart(
    smtp_server, language: str, login: str, elsewhere: str
) -> None:
    text, html = await delivered(
        smtp_server, Origin("bastion", "203.0.113.9", "alice"), EXAMPLES, language
    )
    for part in (text, html):
        assert "Acme VPN" in part
        assert login in part.replace('<p style="color: dimgray">', "").replace("</p>", "")
        assert elsewhere not in part  # ignoring a login is the wrong advice


async def test_the_example_set_outside_a_login_says_where_and_to_ignore(smtp_server) -> None:
    text, _ = await delivered(smtp_server, Origin("laptop", "203.0.113.9"), EXAMPLES, "de")
    assert "Angefordert wurde er auf laptop (über SSH von 203.0.113.9)." in text
    assert "ignorieren Sie diese E-Mail" in text
    assert "meldet sich" not in text
