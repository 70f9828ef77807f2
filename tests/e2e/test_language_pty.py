"""The demo journey in German, in a real pseudo-terminal: the TUI and the plain line mode.

The language comes from LANG, as a login shell sets it; `--json` and the exit status are the
same words and numbers as in English.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pty_harness import OtpHome, Terminal
from test_journey import wrong_code

ADDRESS = "bob@example.com"
VERIFIED_JSON = {
    "verified": True,
    "email": ADDRESS,
    "reason": "verified",
    "sends": 1,
    "wrong_attempts": 1,
}


def german(otp_home: OtpHome) -> dict[str, str]:
    return {**otp_home.env, "LANG": "de_DE.UTF-8"}


def test_the_tui_journey_in_german(
    terminal: Callable[..., Terminal], otp_home: OtpHome, tmp_path: Path
) -> None:
    term = terminal("--json", stdout_file=tmp_path / "result.json", env=german(otp_home))
    term.expect("Demo-Modus")
    term.expect("E-Mail-Adresse bestätigen")
    term.expect("Code senden")  # the key bar
    term.type(ADDRESS)
    term.send("\r")
    term.expect("Code eingeben")
    code = otp_home.read_code()
    term.type(wrong_code(code))
    term.expect("Falscher Code: noch 4 Versuche")
    term.type(code)
    term.expect("Bestätigt")
    term.send("\x11")
    assert term.wait() == 0
    assert term.json_line() == VERIFIED_JSON
    assert "Verified" not in term.text
    events = [line["event"] for line in otp_home.audit_lines()]
    assert events == ["send_requested", "sent", "wrong_code", "verified"]


def test_the_plain_journey_in_german(
    terminal: Callable[..., Terminal], otp_home: OtpHome, tmp_path: Path
) -> None:
    term = terminal("--plain", "--json", stdout_file=tmp_path / "result.json", env=german(otp_home))
    term.expect("Demo-Modus")
    term.expect("E-Mail-Adresse: ")
    term.type(ADDRESS + "\r")
    term.expect(f"Code wird über den Demo-Postausgang an {ADDRESS} gesendet")
    term.expect(r"Code läuft ab in \d+:\d\d\.")
    term.expect("Code: ")
    code = otp_home.read_code()
    term.type(wrong_code(code) + "\r")
    term.expect("Falscher Code: noch 4 Versuche.")
    term.expect("Code: ")
    term.type(code + "\r")
    term.expect(f"Bestätigt. {ADDRESS} ist bestätigt")
    assert term.wait() == 0
    assert term.json_line() == VERIFIED_JSON


def test_the_setting_wins_over_the_locale_and_an_unknown_locale_is_english(
    terminal: Callable[..., Terminal], otp_home: OtpHome, tmp_path: Path
) -> None:
    env = {**german(otp_home), "OTP_TUI_UI__LANGUAGE": "en"}
    term = terminal("--plain", env=env)
    term.expect("Email address: ")
    term.send("\x04")  # Ctrl+D: gives up
    assert term.wait() == 1

    term = terminal("--plain", env={**otp_home.env, "LANG": "xx_YY.UTF-8"})
    term.expect("Email address: ")
    term.send("\x04")
    assert term.wait() == 1
