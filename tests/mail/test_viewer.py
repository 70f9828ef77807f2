"""The outbox viewer's text: hostile and broken mail comes out inert, and never raises."""

from __future__ import annotations

import base64
import unicodedata
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from otp_tui.mail.viewer import mail_as_text

ARRIVED = datetime(2026, 5, 9, 7, 35, 12, tzinfo=UTC)

ATTACKS = [
    "\x1b]0;owned\x07",  # window title
    "\x1b]52;c;ZXZpbA==\x07",  # clipboard write
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",  # hyperlink
    "\x1b[2J\x1b[H",  # clear screen
    "\x1b[?1049l",  # leave the alternate screen
    "\x9b31m",  # C1 CSI
    "\x1bP+q544e\x1b\\",  # DCS query
    "\u202eevil\u202c",  # bidi override
    "\r",
]


def assert_inert(text: str) -> None:
    # Nothing that acts on a terminal: no controls (C0, C1, DEL), format or separator characters.
    for char in text:
        acts = unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}
        assert char == "\n" or not acts, repr(char)


def test_escape_sequences_in_headers_and_body_are_shown_not_obeyed() -> None:
    attack = "".join(ATTACKS)
    raw = (
        "To: =?utf-8?q?victim=1B]0;t=07?= <v@example.com>\r\n"
        f"Subject: =?utf-8?b?{base64.b64encode(attack.encode()).decode()}?=\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        f"line one {attack}\r\n"
        "line two [@click=app.give_up]quit[/] [b\r\n"
    ).encode()

    text = mail_as_text(raw, arrived=ARRIVED)

    assert_inert(text)
    assert "\\x1b]52;c;ZXZpbA==\\x07" in text
    assert "\\x9b31m" in text
    assert "\\u202eevil\\u202c" in text
    # Markup stays text (a front end shows it with markup off); newlines are kept.
    assert "line two [@click=app.give_up]quit[/] [b" in text
    assert text.count("\n") >= 5
    assert text.startswith("To: ")
    assert f"Arrived: {ARRIVED.astimezone():%H:%M:%S}" in text


def test_a_mail_without_a_text_part_says_so() -> None:
    raw = b"To: a@b.c\r\nSubject: s\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n"
    assert mail_as_text(raw).endswith("(this mail has no plain-text part)")


def test_an_unknown_charset_still_shows_the_text() -> None:
    raw = b"To: a@b.c\r\nContent-Type: text/plain; charset=x-nonsense\r\n\r\ncode 123456\r\n"
    assert "code 123456" in mail_as_text(raw)


def test_bad_base64_and_broken_multipart_do_not_raise() -> None:
    raw = (
        b'To: a@b.c\r\nContent-Type: multipart/alternative; boundary="zz"\r\n\r\n'
        b"--zz\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"!!!not base64\x1b[2J\r\n--z"
    )
    assert_inert(mail_as_text(raw))


def test_an_earlier_runs_mail_is_marked() -> None:
    text = mail_as_text(b"To: a@b.c\r\n\r\nx\r\n", arrived=ARRIVED, this_run=False)
    assert "(before this run)" in text


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_give_inert_text(raw: bytes) -> None:
    assert_inert(mail_as_text(raw, arrived=ARRIVED))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"To: ",
                b"Subject: ",
                b"Content-Type: multipart/mixed; boundary=b\r\n",
                b"Content-Type: text/plain; charset=utf-16\r\n",
                b"Content-Transfer-Encoding: quoted-printable\r\n",
                b"Content-Transfer-Encoding: base64\r\n",
                b"=?utf-8?b?Gw==?=",
                b"=?bogus?q?x?=",
                b"<a@b>,,@",
                b"\r\n",
                b"--b\r\n",
                b"\x1b[2J",
                b"\xff\xfe",
                b"=1B=\r\n",
            ]
        ),
        max_size=40,
    )
)
def test_mail_shaped_garbage_gives_inert_text(pieces: list[bytes]) -> None:
    assert_inert(mail_as_text(b"".join(pieces), arrived=ARRIVED))
