"""`--json` before or after the subcommand, for status, unlock and check: one line, the code's
own words in any language, and the exit status the command has without it.

Real processes, a real SQLite ledger, a real aiosmtpd server on 127.0.0.1.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from command_runner import environment, run_otp_tui, write_config
from state.ledger_scenes import lock, record_wrong_code

from otp_tui.core.limits import FOREVER
from otp_tui.state.sqlite_ledger import SqliteLedger

if TYPE_CHECKING:
    from conftest import StartServer

GERMAN = "de_DE.UTF-8"
PASSWORD = "pw-for-the-json-check-5512"
LOCK_END = datetime(2099, 5, 17, 8, 29, 30, tzinfo=UTC)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """alice locked until 2099-05-17 08:29:30 UTC after 3 failures; bob until an operator."""
    ledger_path = tmp_path / "ledger.sqlite3"
    with SqliteLedger(ledger_path) as ledger:
        for _ in range(3):
            record_wrong_code(ledger, "alice@example.com")
        lock(ledger, "alice@example.com", LOCK_END.timestamp() - datetime.now(UTC).timestamp())
        record_wrong_code(ledger, "bob@example.com")
        lock(ledger, "bob@example.com", FOREVER)
    return write_config(tmp_path, f'[state]\nledger = "{ledger_path}"\n')


def one_object(out: str) -> dict[str, Any]:
    lines = out.splitlines()
    assert len(lines) == 1, out
    record: dict[str, Any] = json.loads(lines[0])
    return record


@pytest.mark.parametrize("where", ["before", "after", "after the address"])
@pytest.mark.parametrize("lang", ["C.UTF-8", GERMAN])
async def test_status_json_wherever_the_option_stands_and_in_any_language(
    home: Path, config: Path, where: str, lang: str
) -> None:
    argv = {
        "before": ("--json", "--config", str(config), "status", "Alice@EXAMPLE.com"),
        "after": ("--config", str(config), "status", "--json", "Alice@EXAMPLE.com"),
        "after the address": ("status", "Alice@EXAMPLE.com", "--config", str(config), "--json"),
    }[where]
    ran = await run_otp_tui(*argv, env=environment(home, LANG=lang))
    assert (ran.status, ran.err) == (0, "")
    record = one_object(ran.out)
    assert record == {
        "address": "alice@example.com",
        "sends_last_hour": 0,
        "wrong_codes": 0,
        "consecutive_failures": 3,
        "locked_until": record["locked_until"],
    }
    assert record["locked_until"].startswith("2099-05-17T08:29:")


async def test_a_bad_address_keeps_status_2_with_json(home: Path, config: Path) -> None:
    ran = await run_otp_tui(
        "--config", str(config), "status", "--json", "nope", env=environment(home)
    )
    assert ran.status == 2
    assert ran.out == ""
    assert "is not an email address" in ran.err


async def test_unlock_json_says_what_was_there_and_lifts_it(home: Path, config: Path) -> None:
    env = environment(home, LANG=GERMAN)
    first = await run_otp_tui(
        "--config", str(config), "unlock", "--json", "bob@example.com", env=env
    )
    again = await run_otp_tui(
        "--json", "--config", str(config), "unlock", "bob@example.com", env=env
    )
    assert (first.status, again.status) == (0, 0)
    assert one_object(first.out) == {
        "address": "bob@example.com",
        "changed": True,
        "before": {
            "address": "bob@example.com",
            "sends_last_hour": 0,
            "wrong_codes": 0,
            "consecutive_failures": 1,
            "locked_until": "forever",
        },
    }
    assert one_object(again.out)["changed"] is False
    assert one_object(again.out)["before"]["locked_until"] is None


def check_config(directory: Path, port: int, ca_file: Path | None, *, password: str) -> Path:
    return write_config(
        directory,
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "starttls"\ntimeout = 2\n'
        f'username = "gate"\npassword = "{password}"\nca_file = "{ca_file}"\n'
        f'[sender]\naddress = "otp@example.org"\n'
        f'[state]\nledger = "{directory / "ledger.sqlite3"}"\n',
    )


@pytest.mark.parametrize("lang", ["C.UTF-8", GERMAN])
async def test_check_json_names_each_step_in_the_code_s_words(
    home: Path, tmp_path: Path, smtp_server: StartServer, lang: str
) -> None:
    server = await smtp_server(tls="starttls", auth=("gate", PASSWORD))
    good = check_config(tmp_path, server.port, server.ca_file, password=PASSWORD)
    ran = await run_otp_tui(
        "check", "--config", str(good), "--json", env=environment(home, LANG=lang)
    )
    assert (ran.status, ran.err) == (0, "")
    record = one_object(ran.out)
    assert record["ok"] is True
    assert record["server"] == {"host": "127.0.0.1", "port": server.port, "security": "starttls"}
    assert [(s["step"], s["status"]) for s in record["steps"]] == [
        ("CA file", "ok"),
        ("connect", "ok"),
        ("EHLO", "ok"),
        ("STARTTLS", "ok"),
        ("AUTH", "ok"),
        ("QUIT", "ok"),
    ]
    assert record["ledger"]["ok"] is True
    assert PASSWORD not in ran.out


async def test_a_failed_check_keeps_status_1_and_names_the_kind(
    home: Path, tmp_path: Path, smtp_server: StartServer
) -> None:
    server = await smtp_server(tls="starttls", auth=("gate", PASSWORD))
    wrong = check_config(tmp_path, server.port, server.ca_file, password="not-the-password")
    ran = await run_otp_tui(
        "--json", "--config", str(wrong), "check", env=environment(home, LANG=GERMAN)
    )
    assert ran.status == 1
    record = one_object(ran.out)
    assert record["ok"] is False
    steps = {s["step"]: s for s in record["steps"]}
    assert (steps["AUTH"]["status"], steps["AUTH"]["kind"]) == ("failed", "auth")
    assert steps["QUIT"]["status"] == "skipped"
    assert "not-the-password" not in ran.out


async def test_a_server_echoing_the_login_leaves_no_secret_in_the_json(
    home: Path, tmp_path: Path, smtp_server: StartServer
) -> None:
    import base64

    secret = "leaky-secret-9321"
    payload = base64.b64encode(f"\0gate\0{secret}".encode()).decode()
    server = await smtp_server(
        tls="starttls", auth=("gate", PASSWORD), auth_reply=f"535 5.7.8 you sent {payload} {secret}"
    )
    config = check_config(tmp_path, server.port, server.ca_file, password=secret)
    ran = await run_otp_tui("--config", str(config), "check", "--json", env=environment(home))
    assert ran.status == 1
    record = one_object(ran.out)
    steps = {s["step"]: s for s in record["steps"]}
    assert steps["AUTH"]["kind"] == "auth"
    assert "***" in steps["AUTH"]["detail"]
    assert secret not in ran.out
    assert payload not in ran.out
