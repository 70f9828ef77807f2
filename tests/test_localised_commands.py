"""`otp-tui status`, `unlock`, `check`, `--help`, the gate's refusals and configuration errors in
German and in English, as real processes; exit statuses that do not change with the language.

Every command runs as `python -m otp_tui` with a HOME and XDG directories of its own and an
environment built from nothing, so only the variables a test sets choose the language. `check`
talks to a real aiosmtpd server on 127.0.0.1 (the `smtp_server` fixture), served by the test's
event loop while the process runs.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from state.ledger_scenes import lock, record_wrong_code

from otp_tui.core.limits import FOREVER, MemoryLedger
from otp_tui.language import choose, use_language
from otp_tui.state.report import status_lines, unlock
from otp_tui.state.sqlite_ledger import SqliteLedger

if TYPE_CHECKING:
    from conftest import StartServer

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "otp_tui/language/locale/de/LC_MESSAGES/otp-tui.po"
GERMAN = "de_DE.UTF-8"
PASSWORD = "pw-for-the-check-4471"

# A lock that ends at 08:29:30 UTC is shown as ending at 08:30: rounded up to the minute, with
# half a minute to spare for the float arithmetic between the ledger and the clock.
LOCK_END = datetime(2099, 5, 17, 8, 29, 30, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Ran:
    status: int
    out: str
    err: str


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def environment(home: Path, **variables: str) -> dict[str, str]:
    """Only what a command needs, and the language variables a test gives: nothing inherited."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "TZ": "UTC",
        **variables,
    }


async def otp_tui(*argv: str, env: dict[str, str], python_flags: tuple[str, ...] = ()) -> Ran:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *python_flags,
        "-m",
        "otp_tui",
        *argv,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode("utf-8"), err.decode("utf-8"))


def write_config(directory: Path, text: str) -> Path:
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)  # it may hold a password: no warning about others reading it
    return path


@pytest.fixture
def ledger_config(tmp_path: Path) -> Path:
    """A config whose ledger holds two locked addresses: alice until 2099-05-17 08:30 UTC after
    three failures in a row, one wrong code since; bob until an operator unlocks, one failure."""
    ledger_path = tmp_path / "ledger.sqlite3"
    with SqliteLedger(ledger_path) as ledger:
        for _ in range(3):
            record_wrong_code(ledger, "alice@example.com")
        lock(ledger, "alice@example.com", LOCK_END - datetime.now(UTC).timestamp())
        record_wrong_code(ledger, "alice@example.com")
        record_wrong_code(ledger, "bob@example.com")
        lock(ledger, "bob@example.com", FOREVER)
    return write_config(tmp_path, f'[state]\nledger = "{ledger_path}"\n')


@pytest.fixture
def english() -> Iterator[None]:
    """In-process tests switch the language: English again afterwards, whatever happened."""
    try:
        yield
    finally:
        use_language("en")


# --- status and unlock --------------------------------------------------------------------

GERMAN_STATUS = [
    "Adresse: alice@example.com",
    "Gesendete Codes in der letzten Stunde: 0",
    "Falsche Codes seit der letzten Sperre: 1",
    "Fehlversuche in Folge: 4",
    "gesperrt bis 17.05.2099 08:30 UTC",
]
ENGLISH_STATUS = [
    "address: alice@example.com",
    "sends in the last hour: 0",
    "wrong codes since the last lock: 1",
    "consecutive failures: 4",
    "locked until 2099-05-17 08:30 UTC",
]


async def test_status_speaks_german_under_a_german_locale(home: Path, ledger_config: Path) -> None:
    ran = await otp_tui(
        "--config",
        str(ledger_config),
        "status",
        "Alice@EXAMPLE.com",
        env=environment(home, LANG=GERMAN),
    )
    assert (ran.status, ran.err) == (0, "")
    assert ran.out.splitlines() == GERMAN_STATUS


@pytest.mark.parametrize(
    ("variables", "argv"),
    [
        ({"LANG": GERMAN}, ("--set", "ui.language=en")),
        ({"LANG": GERMAN, "OTP_TUI_UI__LANGUAGE": "en"}, ()),
        ({"LC_ALL": GERMAN, "OTP_TUI_UI__LANGUAGE": "en"}, ()),
        ({"LANG": "xx_YY.UTF-8"}, ()),  # a language otp-tui does not ship: English, no error
        ({"LANG": "C"}, ()),
        ({}, ()),
    ],
)
async def test_status_speaks_english_when_asked_or_when_the_language_is_unknown(
    home: Path, ledger_config: Path, variables: dict[str, str], argv: tuple[str, ...]
) -> None:
    ran = await otp_tui(
        "--config",
        str(ledger_config),
        *argv,
        "status",
        "alice@example.com",
        env=environment(home, **variables),
    )
    assert (ran.status, ran.err) == (0, "")
    assert ran.out.splitlines() == ENGLISH_STATUS


async def test_a_configured_language_wins_over_the_locale(home: Path, ledger_config: Path) -> None:
    ran = await otp_tui(
        "--config",
        str(ledger_config),
        "--set",
        "ui.language=de",
        "status",
        "alice@example.com",
        env=environment(home, LANG="en_GB.UTF-8"),
    )
    assert ran.out.splitlines() == GERMAN_STATUS


async def test_unlock_speaks_german_with_the_right_plural(home: Path, ledger_config: Path) -> None:
    env = environment(home, LANG=GERMAN)
    alice = await otp_tui("--config", str(ledger_config), "unlock", "alice@example.com", env=env)
    bob = await otp_tui("--config", str(ledger_config), "unlock", "bob@example.com", env=env)
    again = await otp_tui("--config", str(ledger_config), "unlock", "bob@example.com", env=env)
    assert [alice.status, bob.status, again.status] == [0, 0, 0]
    assert alice.out == (
        "alice@example.com entsperrt: Sperre bis 17.05.2099 08:30 UTC aufgehoben und"
        " 4 Fehlversuche in Folge gelöscht.\n"
    )
    assert bob.out == (
        "bob@example.com entsperrt: Sperre bis zur Freigabe durch einen Administrator aufgehoben"
        " und 1 Fehlversuch in Folge gelöscht.\n"
    )
    assert again.out == (
        "bob@example.com war nicht gesperrt und hatte keine Fehlversuche; nichts geändert.\n"
    )
    status = await otp_tui("--config", str(ledger_config), "status", "alice@example.com", env=env)
    assert status.out.splitlines()[-1] == "nicht gesperrt"


async def test_unlock_in_english_is_as_it_always_was(home: Path, ledger_config: Path) -> None:
    env = environment(home, LANG=GERMAN, OTP_TUI_UI__LANGUAGE="en")
    alice = await otp_tui("--config", str(ledger_config), "unlock", "alice@example.com", env=env)
    bob = await otp_tui("--config", str(ledger_config), "unlock", "bob@example.com", env=env)
    assert alice.out == (
        "Unlocked alice@example.com: lifted the lock until 2099-05-17 08:30 UTC and cleared"
        " 4 consecutive failures.\n"
    )
    assert bob.out == (
        "Unlocked bob@example.com: lifted the lock that waited for an operator and cleared"
        " 1 consecutive failure.\n"
    )


async def test_a_bad_address_is_refused_in_german_with_exit_2(
    home: Path, ledger_config: Path
) -> None:
    german = await otp_tui(
        "--config", str(ledger_config), "status", "no address", env=environment(home, LANG=GERMAN)
    )
    english = await otp_tui(
        "--config", str(ledger_config), "status", "no address", env=environment(home)
    )
    assert german.status == english.status == 2
    # The address checker's own reason stays as email-validator words it.
    assert german.err.startswith("otp-tui: 'no address' ist keine E-Mail-Adresse: ")
    assert english.err.startswith("otp-tui: 'no address' is not an email address: ")
    assert german.err.split(": ", 2)[2] == english.err.split(": ", 2)[2]


async def test_an_unusable_ledger_is_one_german_line_and_exit_2(home: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.sqlite3"
    foreign.write_bytes(b"not a database, not at all" * 100)
    config = write_config(tmp_path, f'[state]\nledger = "{foreign}"\n')
    german = await otp_tui(
        "--config", str(config), "status", "a@example.com", env=environment(home, LANG=GERMAN)
    )
    english = await otp_tui(
        "--config", str(config), "status", "a@example.com", env=environment(home)
    )
    assert german.status == english.status == 2
    assert german.err == (
        f"otp-tui: Die Zählerdatenbank {foreign} ist beschädigt oder keine SQLite-Datenbank;"
        " sie blieb unverändert. Verschieben Sie sie, um neu zu beginnen.\n"
    )
    assert english.err == (
        f"otp-tui: The ledger {foreign} is corrupt or not an SQLite database; it was left"
        " untouched, move it aside to start afresh.\n"
    )


# --- check ----------------------------------------------------------------------------------


def check_config(directory: Path, port: int, *, security: str, ca_file: Path | None) -> Path:
    ca = f'ca_file = "{ca_file}"\n' if ca_file is not None else ""
    return write_config(
        directory,
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "{security}"\ntimeout = 2\n'
        f'username = "gate"\npassword = "{PASSWORD}"\n{ca}'
        f'[sender]\naddress = "otp@example.org"\n'
        f'[state]\nledger = "{directory / "ledger.sqlite3"}"\n',
    )


async def test_check_against_a_real_server_speaks_german(
    home: Path, tmp_path: Path, smtp_server: StartServer
) -> None:
    server = await smtp_server(tls="starttls", auth=("gate", PASSWORD))
    assert server.ca_file is not None
    config = check_config(tmp_path, server.port, security="starttls", ca_file=server.ca_file)

    ran = await otp_tui("--config", str(config), "check", env=environment(home, LANG=GERMAN))

    assert (ran.status, ran.err) == (0, "")
    width = len("Zertifikatsspeicher") + 2  # the longest German label sets the column
    assert ran.out.splitlines() == [
        f"Prüfe 127.0.0.1, Port {server.port} (STARTTLS verlangt), ohne E-Mail zu senden:",
        f"  {'CA-Datei':<{width}}OK ({server.ca_file})",
        f"  {'Verbindung':<{width}}OK",
        f"  {'EHLO':<{width}}OK",
        f"  {'STARTTLS':<{width}}OK (Zertifikat geprüft)",
        f"  {'AUTH':<{width}}PLAIN OK (als gate)",
        f"  {'QUIT':<{width}}OK",
        "Alle Schritte erfolgreich.",
        f"Zählerdatenbank: SQLite-Datei {tmp_path / 'ledger.sqlite3'} (Schema 2): OK",
    ]
    assert PASSWORD not in ran.out
    assert server.received == []
    await server.wait_until_idle()


async def test_check_in_english_is_as_it_always_was(
    home: Path, tmp_path: Path, smtp_server: StartServer
) -> None:
    server = await smtp_server(tls="starttls", auth=("gate", PASSWORD))
    config = check_config(tmp_path, server.port, security="starttls", ca_file=server.ca_file)

    ran = await otp_tui("--config", str(config), "check", env=environment(home, LANG="xx_YY.UTF-8"))

    assert (ran.status, ran.err) == (0, "")
    assert ran.out.splitlines() == [
        f"Checking 127.0.0.1 port {server.port} (STARTTLS required), without sending mail:",
        f"  CA file           ok ({server.ca_file})",
        "  connect           ok",
        "  EHLO              ok",
        "  STARTTLS          ok (certificate checked)",
        "  AUTH              PLAIN ok (as gate)",
        "  QUIT              ok",
        "All steps passed.",
        f"ledger: SQLite file {tmp_path / 'ledger.sqlite3'} (schema 2): ok",
    ]
    await server.wait_until_idle()


async def test_a_failed_check_is_german_and_exits_1_as_in_english(
    home: Path, tmp_path: Path, closed_port: int
) -> None:
    config = check_config(tmp_path, closed_port, security="none", ca_file=None)

    german = await otp_tui("--config", str(config), "check", env=environment(home, LANG=GERMAN))
    english = await otp_tui("--config", str(config), "check", env=environment(home))

    assert german.status == english.status == 1
    lines = german.out.splitlines()
    assert (
        lines[0]
        == f"Prüfe 127.0.0.1, Port {closed_port} (ohne Verschlüsselung), ohne E-Mail zu senden:"
    )
    width = len("Zertifikatsspeicher") + 2
    assert lines[1].startswith(f"  {'Verbindung':<{width}}fehlgeschlagen (unreachable) ")
    steps = [line for line in lines if line.startswith("  ") and not line.startswith("   ")]
    assert steps[1:] == [f"  {name:<{width}}übersprungen" for name in ("EHLO", "AUTH", "QUIT")]
    assert "Prüfung fehlgeschlagen." in lines
    assert english.out.splitlines()[1].startswith("  connect           failed (unreachable) ")
    assert "Check failed." in english.out.splitlines()


# --- configuration errors -----------------------------------------------------------------


async def test_a_configuration_error_is_a_german_line_with_exit_2(
    home: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.toml"
    german = await otp_tui("--config", str(missing), "check", env=environment(home, LANG=GERMAN))
    english = await otp_tui("--config", str(missing), "check", env=environment(home))
    assert german.status == english.status == 2
    assert german.err == f"{missing}: Datei nicht gefunden\n"
    assert english.err == f"{missing}: no such file\n"


async def test_a_secret_on_the_command_line_is_refused_in_german(home: Path) -> None:
    ran = await otp_tui(
        "--set", "smtp.password=hunter2", "check", env=environment(home, LANG=GERMAN)
    )
    assert ran.status == 2
    assert ran.err == (
        "--set smtp.password: ein Geheimnis auf der Befehlszeile kann jeder Benutzer dieses"
        " Rechners lesen (ps); setzen Sie OTP_TUI_SMTP__PASSWORD in der Umgebung, oder"
        " verwenden Sie smtp.password_file\n"
    )
    assert "hunter2" not in ran.err


async def test_pydantic_s_own_words_stay_english_after_the_german_framing(
    home: Path, tmp_path: Path
) -> None:
    config = write_config(tmp_path, "[policy]\ncode_ttl = -1\nunknown_thing = 1\n")
    ran = await otp_tui("--config", str(config), "check", env=environment(home, LANG=GERMAN))
    assert ran.status == 2
    assert ran.err.splitlines() == [
        f"{config}: policy.code_ttl: Input should be greater than 0",
        f"{config}: policy.unknown_thing: unbekannter Schlüssel",
    ]


# --- --help and the gate ------------------------------------------------------------------


async def test_help_is_german_and_keeps_the_exit_status_table(home: Path) -> None:
    german = await otp_tui("--help", env=environment(home, LANG=GERMAN))
    english = await otp_tui("--help", env=environment(home))
    assert german.status == english.status == 0
    assert "Prüft, ob die Person an diesem Terminal über eine E-Mail-Adresse verfügt" in german.out
    assert (
        "  --json                ein JSON-Objekt mit dem Ergebnis auf stdout ausgeben" in german.out
    )
    table = re.findall(r"^  (\d+) +", german.out.split("Exit-Status:\n", 1)[1], re.MULTILINE)
    assert table == ["0", "1", "2", "129"]
    assert "  129  Terminal getrennt     130  abgebrochen (Strg+C)     143  beendet\n" in german.out
    # argparse's own frame words are Python's.
    assert german.out.startswith("usage: otp-tui")
    assert "\noptions:\n" in german.out
    assert "exit status:\n  0    verified (and, for gate" in english.out


async def test_the_gate_refuses_an_interactive_interpreter_in_german(home: Path) -> None:
    ran = await otp_tui("gate", env=environment(home, LANG=GERMAN), python_flags=("-i",))
    assert ran.status == 2
    assert (
        "otp-tui gate: der Interpreter wurde interaktiv gestartet (-i oder PYTHONINSPECT); die"
        " Schranke läuft nur unter einem schlichten Interpreter\n"
    ) in ran.err


async def test_the_gate_refuses_options_in_german_with_exit_2(home: Path) -> None:
    german = await otp_tui("--json", "gate", env=environment(home, LANG=GERMAN))
    english = await otp_tui("--json", "gate", env=environment(home))
    assert german.status == english.status == 2
    assert german.err == (
        "otp-tui: gate akzeptiert --json nicht: Es gilt allein die Konfiguration des"
        " Administrators\n"
    )
    assert english.err == "otp-tui: gate takes no --json: only the operator's config decides\n"


# --- in-process: the date format, and a complete catalog --------------------------------------


def test_the_date_in_status_follows_the_language(english: None) -> None:
    start = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC).timestamp()
    ledger = MemoryLedger(lambda: start)
    record_wrong_code(ledger, "alice@example.com")
    lock(ledger, "alice@example.com", 900)

    def shown() -> list[str]:
        return status_lines(ledger, "alice@example.com", clock=lambda: start, tz=UTC)

    use_language(choose("de", {}))
    assert shown()[-1] == "gesperrt bis 14.11.2023 22:29 UTC"
    use_language(choose(None, {"LANG": "xx_YY.UTF-8"}))
    assert shown()[-1] == "locked until 2023-11-14 22:29 UTC"
    use_language("de")
    assert unlock(ledger, "alice@example.com", clock=lambda: start, tz=UTC) == (
        "alice@example.com entsperrt: Sperre bis 14.11.2023 22:29 UTC aufgehoben und"
        " 1 Fehlversuch in Folge gelöscht."
    )


# The files whose sentences this branch translated: each must have German for every one.
TRANSLATED_FILES = [
    "otp_tui/cli.py",
    "otp_tui/hardening.py",
    "otp_tui/config/loading.py",
    "otp_tui/config/secrets.py",
    "otp_tui/config/sources.py",
    "otp_tui/mail/check.py",
    "otp_tui/mail/credentials.py",
    "otp_tui/state/ledger_check.py",
    "otp_tui/state/redis_client.py",
    "otp_tui/state/redis_errors.py",
    "otp_tui/state/redis_probe.py",
    "otp_tui/state/sqlite_errors.py",
    "otp_tui/state/sqlite_schema.py",
    "otp_tui/state/sqlite_ledger.py",
    "otp_tui/state/report.py",
    "otp_tui/gate/addresses.py",
    "otp_tui/gate/interpreter.py",
    "otp_tui/gate/invoker.py",
    "otp_tui/gate/run.py",
    "otp_tui/gate/trust.py",
]


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{[a-z_]*\}", text))


@pytest.mark.parametrize("name", TRANSLATED_FILES)
def test_every_sentence_of_the_commands_has_german_with_the_same_placeholders(name: str) -> None:
    with PO.open("rb") as source:
        catalog = read_po(source, locale="de")
    keywords = {"_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "N_": None}
    found = list(extract_from_file("python", str(ROOT / name), keywords=keywords))
    assert found, f"{name} has no message at all: the extraction or the list is wrong"
    for _line, text, _comments, context in found:
        ids = (text,) if isinstance(text, str) else tuple(text)
        message = catalog.get(ids[0], context=context)
        assert message is not None, f"{ids[0]!r} is not in the catalog"
        assert message.string is not None, f"{ids[0]!r} has no German"
        strings = (message.string,) if isinstance(message.string, str) else message.string
        assert all(strings), f"{ids[0]!r} has no German"
        if context == "strftime":
            assert all(re.fullmatch(r"[%dmYHMZ .:\-/]+", string) for string in strings)
            continue
        for string in strings:
            assert _placeholders(string) == _placeholders(ids[-1]), (ids, string)
