"""One settings model, two loaders: the gate's (the operator's file alone, no pydantic-settings)
and the command line's (flags, environment, file) read the same file alike."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from otp_tui.config.gate_settings import load_gate_settings
from otp_tui.config.loading import ConfigError, ConfigFile, load_settings

# Every section, with values that differ from the defaults, lists and paths included.
FULL = """
[smtp]
host = "smtp.example.com"
port = 2525
security = "tls"
username = "otp"
password = "not-a-real-password"
timeout = 7.5
validate_certs = false

[sender]
address = "otp@example.com"
service = "Acme VPN"
subject = "Code for {service}"

[policy]
code_length = 8
code_ttl = 300
max_attempts = 3

[access]
allowed_domains = ["example.com"]
allowed_addresses = ["bob@example.org"]

[state]
ledger = "/var/lib/otp-tui/ledger.sqlite3"
syslog_facility = "authpriv"

[gate]
address_command = ["/usr/local/bin/lookup", "%u"]
on_mail_failure = "allow"
session_timeout = 120

[ui]
language = "de"
"""

# One problem of each kind the lines are worded for: a bad value, an unknown key with a
# suggestion, a string given as a number, and a rule across the whole model.
BAD = """
[smtp]
host = "smtp.example.com"
port = 0
pasword = "x"
username = 12

[policy]
code_length = 4
"""


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.upper().startswith("OTP_TUI_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_both_loaders_read_a_full_file_alike(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    gate = load_gate_settings(str(path))
    command_line = load_settings(ConfigFile(path, explicit=True), environ={})
    assert gate.model_dump() == command_line.model_dump()
    assert gate.policy.code_length == 8
    assert gate.gate.on_mail_failure == "allow"
    assert gate.smtp.password is not None
    assert gate.smtp.password.get_secret_value() == "not-a-real-password"


def test_both_loaders_word_the_same_problems(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    with pytest.raises(ConfigError) as gate:
        load_gate_settings(str(path))
    with pytest.raises(ConfigError) as command_line:
        load_settings(ConfigFile(path, explicit=True), environ={})
    assert gate.value.problems == command_line.value.problems
    lines = "\n".join(gate.value.problems)
    for key in ("smtp.port", "smtp.pasword", "smtp.username", "policy.code_length"):
        assert f"{path}: {key}: " in lines
    assert "did you mean smtp.password?" in lines


def test_the_gate_loader_reads_no_environment(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, FULL)
    monkeypatch.setenv("OTP_TUI_SMTP__HOST", "evil.example")
    monkeypatch.setenv("OTP_TUI_POLICY", '{"code_length": 6}')
    assert load_settings(ConfigFile(path, explicit=True)).smtp.host == "evil.example"
    settings = load_gate_settings(str(path))
    assert (settings.smtp.host, settings.policy.code_length) == ("smtp.example.com", 8)


def test_the_gate_loader_does_not_import_pydantic_settings(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    program = (
        "import sys\n"
        "from otp_tui.config.gate_settings import load_gate_settings\n"
        "assert load_gate_settings(sys.argv[1]).smtp.port == 2525\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pydantic_settings', 'dotenv'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", program, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
