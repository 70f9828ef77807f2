"""The operator's templates: rendered into the message, checked when the configuration loads."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from otp_tui.cli import main
from otp_tui.config.loading import ConfigError, ConfigFile, load_settings
from otp_tui.config.schema import MailSettings, SenderSettings, Settings
from otp_tui.core.codes import OneTimeCode
from otp_tui.mail.check import run_check
from otp_tui.mail.message import build_message

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "templates"
SENDER = SenderSettings(address="otp@example.org", name="Acme Gate", service="Acme VPN")
CODE = "480213"


def build(templates: Path | None, *, language: str | None = None, **kwargs: str) -> EmailMessage:
    message = build_message(
        SENDER,
        kwargs.get("to", "bob@example.com"),
        OneTimeCode(kwargs.get("code", CODE)),
        ttl_seconds=600,
        requested_from=kwargs.get("origin", "bastion (over SSH from 203.0.113.9)"),
        templates=templates,
        language=language,
    )
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(message: EmailMessage) -> tuple[str, str]:
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    return plain.get_content(), html.get_content()


def write(directory: Path, **files: str) -> Path:
    for name, text in files.items():
        path = directory / name.replace("__", "/").replace("_txt", ".txt").replace("_html", ".html")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return directory


def config(tmp_path: Path, templates: Path) -> ConfigFile:
    path = tmp_path / "config.toml"
    path.write_text(f'[mail]\ntemplates = "{templates}"\n')
    return ConfigFile(path, explicit=True)


def problems(tmp_path: Path, templates: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(config(tmp_path, templates), environ={})
    return caught.value.problems


# --- the shipped example set --------------------------------------------------------------


def test_the_example_set_loads_and_renders(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path, EXAMPLES), environ={})
    assert settings.mail.templates == EXAMPLES

    message = build(EXAMPLES)

    assert message["Subject"] == "Acme Gate: your sign-in code"
    plain, html = parts(message)
    for body in (plain, html):
        assert re.findall(r"\d{6,}", body) == [CODE]
        assert "10 minutes" in body
        assert "bob@example.com" in body
        assert "203.0.113.9" in body
    assert "<strong>480213</strong>" in html


def test_the_example_set_has_a_translation(tmp_path: Path) -> None:
    message = build(EXAMPLES, language="de")
    assert message["Subject"] == "Acme Gate: Ihr Anmeldecode"
    plain, html = parts(message)
    assert "Anmeldecode" in plain
    assert 'lang="de"' in html


# --- rendering ----------------------------------------------------------------------------


def test_the_html_part_escapes_and_the_text_part_does_not(tmp_path: Path) -> None:
    templates = write(
        tmp_path / "t",
        body_txt="{{ code }} from {{ requested_from }}\n",
        body_html="<p>{{ code }} from {{ requested_from }}</p>\n",
    )
    plain, html = parts(build(templates, origin="<b>host</b> & co"))
    assert "from <b>host</b> & co" in plain
    assert "from &lt;b&gt;host&lt;/b&gt; &amp; co" in html


def test_missing_files_keep_the_built_in_text(tmp_path: Path) -> None:
    templates = write(tmp_path / "t", subject_txt="Sign in to {{ sender_name }}\n")
    message = build(templates)
    assert message["Subject"] == "Sign in to Acme Gate"
    plain, _ = parts(message)
    assert plain.startswith("Your verification code for Acme VPN is:")


def test_a_language_falls_back_file_by_file(tmp_path: Path) -> None:
    templates = write(
        tmp_path / "t",
        subject_txt="Your code\n",
        body_txt="Code: {{ code }}\n",
        de__body_txt="Ihr Code: {{ code }}\n",
    )
    german = build(templates, language="de")
    assert german["Subject"] == "Your code"
    assert parts(german)[0] == f"Ihr Code: {CODE}\n"
    assert parts(build(templates, language="fr"))[0] == f"Code: {CODE}\n"
    assert parts(build(templates))[0] == f"Code: {CODE}\n"


@pytest.mark.parametrize("language", ["..", "../t", "/etc", "de/../.."])
def test_a_language_is_never_a_path(tmp_path: Path, language: str) -> None:
    templates = write(tmp_path / "t", body_txt="Code: {{ code }}\n")
    write(tmp_path, body_txt="outside {{ code }}\n")
    assert parts(build(templates, language=language))[0] == f"Code: {CODE}\n"


def test_a_template_cannot_add_headers(tmp_path: Path) -> None:
    templates = write(
        tmp_path / "t", body_txt="Bcc: mallory@evil.example\nTo: x@evil.example\n\n{{ code }}\n"
    )
    message = build(templates)
    assert message["Bcc"] is None
    assert message.get_all("To") == ["bob@example.com"]
    assert parts(message)[0].startswith("Bcc: mallory@evil.example\n")


def test_a_value_that_breaks_a_rule_at_send_time_is_refused(tmp_path: Path) -> None:
    # The sample passed at load; a real address full of digits would put a second number in.
    templates = write(tmp_path / "t", body_txt="{{ code }} for {{ address }}\n")
    with pytest.raises(ValueError, match="another run of six or more digits"):
        build(templates, to="u1234567@example.com")


# --- checked when the configuration loads -------------------------------------------------


@pytest.mark.parametrize(
    ("files", "name", "line", "message"),
    [
        ({"body_txt": "Hello\n{{ code }\n"}, "body.txt", 2, "unexpected '}'"),
        ({"body_txt": "{{ code }}\n\n{{ cod }}\n"}, "body.txt", 3, "unknown placeholder 'cod'"),
        ({"body_html": "<p>{% if x %}{{ code }}{% endif %}</p>"}, "body.html", 1, "'x'"),
        ({"body_txt": "Hello\n"}, "body.txt", None, "exactly once"),
        ({"body_txt": "{{ code }} and again {{ code }}\n"}, "body.txt", None, "exactly once"),
        (
            {"body_txt": "{% for i in range(2) %}{{ code }}{% endfor %}\n"},
            "body.txt",
            None,
            "exactly once",
        ),
        ({"subject_txt": "Code\n{{ code }}\n"}, "subject.txt", 2, "must not be in the subject"),
        ({"subject_txt": "Order 1234567\n"}, "subject.txt", None, "six or more digits"),
        ({"subject_txt": "Two\nlines\n"}, "subject.txt", None, "one line"),
        ({"subject_txt": "Tab\x0bbed\n"}, "subject.txt", None, "one line"),
        ({"subject_txt": "\n"}, "subject.txt", None, "empty"),
        (
            {"body_html": '<p style="color: #333333">{{ code }}</p>'},
            "body.html",
            None,
            "another run of six or more digits",
        ),
        ({"body_txt": "{{ code.__class__.__mro__ }}"}, "body.txt", None, "cannot render"),
        ({"de__body_txt": "{{ nope }} {{ code }}"}, "de/body.txt", 1, "unknown placeholder"),
    ],
)
def test_a_broken_template_is_one_line_naming_the_file_and_line(
    tmp_path: Path, files: dict[str, str], name: str, line: int | None, message: str
) -> None:
    templates = write(tmp_path / "t", **files)

    lines = problems(tmp_path, templates)

    assert len(lines) == 1, lines
    where = f"{templates / name} line {line}:" if line else f"{templates / name}:"
    assert where in lines[0]
    assert message in lines[0]
    assert "\n" not in lines[0]


def test_a_missing_template_directory_is_refused(tmp_path: Path) -> None:
    lines = problems(tmp_path, tmp_path / "absent")
    assert "no such directory" in lines[0]


def test_a_broken_template_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    templates = write(tmp_path / "t", body_txt="no code here\n")
    status = main(["--config", str(config(tmp_path, templates).path), "check"])
    assert status == 2
    err = capsys.readouterr().err
    assert "body.txt" in err
    assert "exactly once" in err


def test_jinja2_is_loaded_only_when_templates_are_set(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from otp_tui.config.loading import ConfigFile, load_settings\n"
        "load_settings(ConfigFile(__import__('pathlib').Path(sys.argv[1]), explicit=True))\n"
        "print('jinja2' in sys.modules)\n"
    )
    plain = tmp_path / "plain.toml"
    plain.write_text('[sender]\nname = "x"\n')
    templated = config(tmp_path, EXAMPLES).path
    seen = [
        subprocess.run(
            [sys.executable, "-c", probe, str(path)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        for path in (plain, templated)
    ]
    assert seen == ["False", "True"]


# --- otp-tui check ------------------------------------------------------------------------


async def test_check_shows_the_rendered_templates_with_the_code_masked(tmp_path: Path) -> None:
    settings = Settings(
        sender=SenderSettings(service="otp-tui"), mail=MailSettings(templates=EXAMPLES)
    )
    out = io.StringIO()

    status = await run_check(settings, out, outbox_dir=tmp_path / "outbox")

    output = out.getvalue()
    assert status == 0, output
    assert f"Mail from the templates in {EXAMPLES}" in output
    assert "  Subject: otp-tui: your sign-in code\n" in output
    assert "  |     ******\n" in output
    assert re.search(r"\d{6,}", output) is None, "no code-like number is shown"


# --- the code once, however a template renders it -----------------------------------------


@pytest.mark.parametrize(
    ("files", "name", "message"),
    [
        # The subject takes the body in and spaces it out: no `code` in the subject's source.
        (
            {
                "body_txt": "Your code: {{ code }}\n",
                "subject_txt": '{% set b %}{% include "body.txt" %}{% endset %}'
                '{{ b|list|join(" ") }}\n',
            },
            "subject.txt",
            "must not be in the subject",
        ),
        (
            {"body_txt": "Your code: {{ code }}\n", "subject_txt": '{% include "body.txt" %}'},
            "subject.txt",
            "must not be in the subject",
        ),
        # Shown only in an image's URL: fetched by the mail reader, never seen by the person.
        (
            {"body_html": '<p>Hello</p><img src="https://t.example/p.gif?c={{ code }}">'},
            "body.html",
            "must not carry the code",
        ),
        (
            {
                "body_html": '<p><a href="https://t.example/?c={{ code|reverse|join(".") }}">'
                "{{ code }}</a>"
            },
            "body.html",
            "must not carry the code",
        ),
        (
            {"body_html": "<p>{{ code }}</p><!-- {{ code|list|join('.') }} -->"},
            "body.html",
            "must not carry the code",
        ),
        # Once plainly and once spaced out: twice to a reader.
        (
            {"body_txt": "{{ code }}\n{{ code|list|join(' ') }}\n"},
            "body.txt",
            "exactly once",
        ),
        (
            {"body_html": "<p>{{ code }}</p><p>{{ code|list|join('-') }}</p>"},
            "body.html",
            "exactly once",
        ),
    ],
)
def test_the_code_once_rule_is_decided_on_what_is_rendered(
    tmp_path: Path, files: dict[str, str], name: str, message: str
) -> None:
    templates = write(tmp_path / "t", **files)

    lines = problems(tmp_path, templates)

    assert len(lines) == 1, lines
    assert f"{templates / name}" in lines[0]
    assert message in lines[0]


def test_a_code_spaced_out_once_for_reading_is_still_allowed(tmp_path: Path) -> None:
    templates = write(
        tmp_path / "t",
        body_txt="Your code: {{ code|list|join(' ') }}\n",
        body_html="<p>Your code: <b>{{ code[:3] }}</b>&nbsp;<b>{{ code[3:] }}</b></p>",
    )
    text, html = parts(build(templates))
    assert "4 8 0 2 1 3" in text
    assert "480" in html


# --- no symbolic link is followed inside the folder ---------------------------------------


def test_an_include_through_a_symbolic_link_is_refused_and_shows_nothing(tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text("relay-secret-771\n")
    templates = write(tmp_path / "t", body_txt='{{ code }} {% include "pw" %}\n')
    (templates / "pw").symlink_to(secret)

    lines = problems(tmp_path, templates)

    assert len(lines) == 1, lines
    assert "pw is a symbolic link" in lines[0]
    assert "relay-secret" not in lines[0]
    with pytest.raises(ValueError, match="symbolic link"):
        build(templates)


@pytest.mark.parametrize("which", ["part", "language folder"])
def test_a_part_or_a_language_folder_that_is_a_link_is_refused(tmp_path: Path, which: str) -> None:
    elsewhere = write(tmp_path / "elsewhere", body_txt="Code: {{ code }}\n")
    templates = write(tmp_path / "t", subject_txt="Your code\n")
    if which == "part":
        (templates / "body.txt").symlink_to(elsewhere / "body.txt")
        name = "body.txt"
    else:
        (templates / "de").symlink_to(elsewhere)
        name = "de"

    lines = problems(tmp_path, templates)

    assert len(lines) == 1, lines
    assert "symbolic link" in lines[0]
    assert name in lines[0]


def test_the_folder_itself_may_be_reached_through_a_link(tmp_path: Path) -> None:
    real = write(tmp_path / "real", body_txt="Code: {{ code }}\n")
    (tmp_path / "link").symlink_to(real)
    text, _html = parts(build(tmp_path / "link"))
    assert f"Code: {CODE}" in text


def test_a_fifo_in_the_folder_does_not_hang_the_start(tmp_path: Path) -> None:
    templates = write(tmp_path / "t", subject_txt="Your code\n")
    os.mkfifo(templates / "body.txt")
    build(templates)  # the FIFO is not a template: the built-in text is used


def test_a_template_larger_than_256_kib_is_refused(tmp_path: Path) -> None:
    templates = write(tmp_path / "t", body_txt="{{ code }}\n" + "x" * (256 * 1024))
    lines = problems(tmp_path, templates)
    assert len(lines) == 1, lines
    assert "larger than 256 KiB" in lines[0]
