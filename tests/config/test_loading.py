"""Configuration: precedence, the example file, and one readable line per problem."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otp_tui.cli import main
from otp_tui.config.loading import (
    ConfigError,
    ConfigFile,
    load_settings,
    locate_config,
    parse_overrides,
)
from otp_tui.core.plain_address import plain_address

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, text, name="config.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return ConfigFile(path, explicit=True)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.upper().startswith("OTP_TUI_"):
            monkeypatch.delenv(name)


def load(config, overrides=()):
    return load_settings(config, parse_overrides(list(overrides)))


def problems(config, overrides=()):
    with pytest.raises(ConfigError) as raised:
        load(config, overrides)
    return raised.value.problems


def test_example_file_validates_and_documents_every_key():
    config = ConfigFile(ROOT / "config.example.toml", explicit=True)
    settings = load(config)
    # Copied unchanged it keeps demo mode: never a real-looking server by accident.
    assert settings.demo
    text = config.path.read_text()
    for section, model in settings:
        for key in type(model).model_fields:
            assert f"{key} =" in text, f"config.example.toml does not document {section}.{key}"


def test_missing_default_file_means_defaults(tmp_path):
    settings = load(ConfigFile(tmp_path / "absent.toml", explicit=False))
    assert settings.demo
    assert settings.policy.code_length == 6
    assert settings.smtp.effective_port == 587


def test_missing_named_file_is_an_error(tmp_path):
    assert problems(ConfigFile(tmp_path / "absent.toml", explicit=True)) == [
        f"{tmp_path / 'absent.toml'}: no such file"
    ]


def test_precedence_flags_over_environment_over_file(tmp_path, monkeypatch):
    config = write(tmp_path, "[policy]\ncode_ttl = 100\nresend_cooldown = 10\nmax_resends = 1\n")
    monkeypatch.setenv("OTP_TUI_POLICY__CODE_TTL", "200")
    monkeypatch.setenv("OTP_TUI_POLICY__RESEND_COOLDOWN", "20")
    settings = load(config, ["policy.code_ttl=300"])
    assert settings.policy.code_ttl == 300  # flag
    assert settings.policy.resend_cooldown == 20  # environment
    assert settings.policy.max_resends == 1  # file
    assert settings.policy.max_attempts == 5  # default


def test_locate_config_order(tmp_path):
    assert locate_config("x.toml", {"OTP_TUI_CONFIG": "y.toml"}) == ConfigFile(
        Path("x.toml"), explicit=True
    )
    assert locate_config(None, {"OTP_TUI_CONFIG": "y.toml"}) == ConfigFile(
        Path("y.toml"), explicit=True
    )
    default = locate_config(None, {})
    assert not default.explicit
    assert default.path.parts[-2:] == ("otp-tui", "config.toml")


def test_default_port_follows_security(tmp_path):
    settings = load(write(tmp_path, '[smtp]\nsecurity = "tls"\n'))
    assert settings.smtp.effective_port == 465


def test_each_problem_is_one_line_naming_source_and_key(tmp_path, monkeypatch):
    config = write(
        tmp_path,
        '[smtp]\nhost = "mail.example.com"\npasword = "x"\n[policy]\ncode_ttl = 0\n',
    )
    monkeypatch.setenv("OTP_TUI_POLICY__MAX_ATTEMPTS", "many")
    lines = problems(config, ["policy.code_length=4"])
    path = str(config.path)
    assert f"{path}: smtp.pasword: unknown key; did you mean smtp.password?" in lines
    assert f"{path}: policy.code_ttl: Input should be greater than 0" in lines
    assert "--set: policy.code_length: Input should be greater than or equal to 6" in lines
    env_line = "OTP_TUI_POLICY__MAX_ATTEMPTS: policy.max_attempts:"
    assert any(line.startswith(env_line) for line in lines)
    assert all("\n" not in line for line in lines)


def test_sender_address_is_required_once_a_host_is_set(tmp_path):
    lines = problems(write(tmp_path, '[smtp]\nhost = "mail.example.com"\n'))
    assert lines == [f"{tmp_path / 'config.toml'}: sender.address: required once smtp.host is set"]


def test_toml_syntax_error_names_file_and_line(tmp_path):
    lines = problems(write(tmp_path, "[smtp]\nhost = \n"))
    assert len(lines) == 1
    assert lines[0].startswith(str(tmp_path / "config.toml"))
    assert "line 2" in lines[0]


def test_password_and_password_file_together_are_refused(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("hunter2\n")
    config = write(tmp_path, f'[smtp]\npassword = "s3cr3t-value"\npassword_file = "{secret}"\n')
    lines = problems(config)
    assert any("either password or password_file" in line for line in lines)
    assert not any("s3cr3t-value" in line or "hunter2" in line for line in lines)


def test_password_file_is_read_and_never_echoed(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("hunter2\n")
    settings = load(write(tmp_path, f'[smtp]\npassword_file = "{secret}"\n'))
    assert settings.smtp.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(settings)


def test_unreadable_password_file_is_one_line(tmp_path):
    lines = problems(write(tmp_path, f'[smtp]\npassword_file = "{tmp_path / "nope"}"\n'))
    assert len(lines) == 1
    assert lines[0].startswith(f"{tmp_path / 'config.toml'}: smtp: cannot read password_file")
    assert "No such file or directory" in lines[0]


def test_bad_value_for_a_secret_is_not_echoed(tmp_path):
    lines = problems(write(tmp_path, "[smtp]\npassword = 12345\n"))
    assert not any("12345" in line for line in lines)


def test_header_values_cannot_carry_line_breaks(tmp_path):
    lines = problems(write(tmp_path, '[sender]\nsubject = "Hi\\r\\nBcc: x@y.z"\n'))
    assert any("sender.subject" in line and "line breaks" in line for line in lines)


def test_bad_set_flag_syntax(tmp_path):
    with pytest.raises(ConfigError) as raised:
        parse_overrides(["code_ttl=3", "smtp.password:hunter2"])
    assert raised.value.problems == [
        "--set code_ttl: expected SECTION.KEY=VALUE",
        # Without '=' all of it may be a value: nothing of it is echoed.
        "--set: expected SECTION.KEY=VALUE, got an argument without '='",
    ]


def test_cli_bad_config_exits_2_with_one_line_per_problem(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text("[policy]\ncode_ttl = 0\nmax_attempts = 0\n")
    assert main(["--config", str(path), "check"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"{path}: policy.code_ttl: Input should be greater than 0",
        f"{path}: policy.max_attempts: Input should be greater than or equal to 1",
    ]


def test_cli_refuses_to_run_without_a_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OTP_TUI_CONFIG", str(write(tmp_path, "").path))
    # Under pytest stdin is not a terminal: the app must not start.
    assert main([]) == 2
    assert "needs an interactive terminal; try ssh -t" in capsys.readouterr().err


def test_email_in_demo_mode_must_be_asked_for_by_name(tmp_path, capsys, monkeypatch):
    # A gate whose config lost its [smtp] host would fall into demo mode, where the code is on
    # screen: refuse, unless --demo says this is a trial.
    monkeypatch.setenv("OTP_TUI_CONFIG", str(write(tmp_path, "").path))
    assert main(["--email", "a@example.com"]) == 2
    assert "configure smtp.host, or add --demo" in capsys.readouterr().err
    # With --demo the address is accepted; here it then stops only for want of a terminal.
    assert main(["--demo", "--email", "a@example.com"]) == 2
    assert "needs an interactive terminal" in capsys.readouterr().err


def test_invalid_email_flag_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OTP_TUI_CONFIG", str(write(tmp_path, "").path))
    assert main(["--demo", "--email", "not an address"]) == 2
    assert capsys.readouterr().err.startswith("otp-tui: --email: ")


# The fast path for plain sender addresses must never accept what email-validator refuses, nor
# give a different normal form.
_LOCAL_CHARS = "aZ09._+-"
_LABEL_CHARS = "az09-A"


@given(
    local=st.text(alphabet=_LOCAL_CHARS, min_size=0, max_size=70),
    labels=st.lists(
        st.text(alphabet=_LABEL_CHARS, min_size=0, max_size=12)
        | st.text(alphabet=_LABEL_CHARS, max_size=6).map("xn--".__add__),
        max_size=4,
    ),
    tld=st.sampled_from(
        ["com", "org", "io", "test", "local", "arpa", "c0m", "x", "COM", "xn--p1ai"]
    ),
)
@settings(max_examples=500)
def test_plain_sender_fast_path_agrees_with_email_validator(local, labels, tld):
    from email_validator import EmailNotValidError, validate_email

    address = f"{local}@{'.'.join([*labels, tld])}"
    fast = plain_address(address)
    if fast is None:
        return
    try:
        expected = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as error:  # pragma: no cover - this is the failure being hunted
        raise AssertionError(f"fast path accepted {address!r}: {error}") from None
    assert fast == expected


@pytest.mark.parametrize(
    ("address", "fast"),
    [
        ("otp@example.com", True),
        ("first.last+tag@mail.example.org", True),
        ("Otp@Example.com", False),  # email-validator lowercases the domain: its job
        ("postmaster@example.com", False),  # a role mailbox it lowercases
        ("otp@example.test", False),  # special use: it refuses, with its message
        ("otp@xn--p1ai.com", False),  # punycode: it decodes
        ("otp@@example.com", False),
        ("otp@example", False),
        ("ötp@example.com", False),
    ],
)
def test_plain_sender_fast_path_examples(address, fast):
    assert (plain_address(address) is not None) is fast


def test_a_sender_off_the_fast_path_is_still_checked_by_email_validator(tmp_path):
    lines = problems(write(tmp_path, '[sender]\naddress = "otp@example.test"\n'))
    assert len(lines) == 1
    assert "sender.address" in lines[0]
    assert "special-use or reserved name" in lines[0]
    settings = load(write(tmp_path, '[sender]\naddress = "Otp@Example.COM"\n'))
    assert settings.sender.address == "Otp@example.com"


def test_the_settings_defaults_are_the_cores_policy_defaults():
    from otp_tui.config.schema import PolicySettings
    from otp_tui.core.policy import Policy

    assert PolicySettings().to_policy() == Policy()


@pytest.mark.parametrize(
    "address", ["=?utf-8?q?=61lice?=@corp.example", "attacker%evil.example@corp.example"]
)
def test_email_flag_refuses_misleading_forms_with_the_neutral_sentence(
    address, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("OTP_TUI_CONFIG", str(write(tmp_path, "").path))
    assert main(["--demo", "--email", address]) == 2
    err = capsys.readouterr().err
    assert err == "otp-tui: --email: This address can't be verified here.\n"


def test_status_refuses_misleading_forms_in_one_line(tmp_path, capsys):
    config = write(tmp_path, f'[state]\nledger = "{tmp_path / "ledger.sqlite3"}"\n')
    assert main(["--config", str(config.path), "status", "evil!bob@corp.example"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].endswith("This address can't be verified here.")


# --- secrets on the command line ------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "points_to"),
    [
        (
            "smtp.password=hunter2",
            "set OTP_TUI_SMTP__PASSWORD in the environment, or smtp.password_file",
        ),
        ("smtp.password=123456", "OTP_TUI_SMTP__PASSWORD"),
        # Keys named like a secret are refused before anyone asks whether they exist, so keys
        # added later are covered too.
        ("state.ledger_password=hunter2", "OTP_TUI_STATE__LEDGER_PASSWORD"),
        ("smtp.api_token=hunter2", "OTP_TUI_SMTP__API_TOKEN"),
        ("gate.client_secret=hunter2", "OTP_TUI_GATE__CLIENT_SECRET"),
        ("smtp.Passphrase=hunter2", "OTP_TUI_SMTP__PASSPHRASE"),
        # A URL with a password in it, whatever the key.
        ("state.ledger=redis://:hunter2@127.0.0.1:6379/0", "OTP_TUI_STATE__LEDGER"),
        ("state.ledger=rediss://otp:hunter2@cache.example/1", "OTP_TUI_STATE__LEDGER"),
    ],
)
def test_secrets_are_refused_on_the_command_line_without_being_echoed(flag, points_to):
    with pytest.raises(ConfigError) as raised:
        parse_overrides([flag])
    [line] = raised.value.problems
    assert line.startswith(f"--set {flag.partition('=')[0]}: ")
    assert "can be read by every user of this machine (ps)" in line
    assert points_to in line
    assert "hunter2" not in line
    assert "123456" not in line


@pytest.mark.parametrize(
    "flag",
    [
        "smtp.password_file=/run/secrets/smtp",  # the file that holds it: the route to use
        "state.ledger=redis://127.0.0.1:6379/0",  # a URL without a password
        "state.ledger=/var/lib/otp-tui/ledger.sqlite3",
        "sender.subject=Your code: see https://x.example/a:b@c",  # no scheme://user:pw@
    ],
)
def test_what_is_not_a_secret_is_taken_from_the_command_line(flag):
    key, _, value = flag.partition("=")
    section, name = key.split(".")
    assert parse_overrides([flag]) == {section: {name: value}}


def test_the_cli_refuses_a_password_flag_before_anything_else(tmp_path, capsys):
    config = write(tmp_path, "")
    assert main(["--config", str(config.path), "--set", "smtp.password=hunter2", "check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "hunter2" not in err


# --- any string from every route that takes one ---------------------------------------------


@pytest.mark.parametrize("password", ["123456", "007", "1e3", "true", "null", "[1]", " x "])
def test_a_password_from_the_environment_is_taken_as_typed(tmp_path, monkeypatch, password):
    monkeypatch.setenv("OTP_TUI_SMTP__PASSWORD", password)
    settings = load(write(tmp_path, ""))
    assert settings.smtp.password.get_secret_value() == password


def test_a_numeric_password_in_a_file_is_taken_as_typed(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("000123\n")
    secret.chmod(0o600)
    settings = load(write(tmp_path, f'[smtp]\npassword_file = "{secret}"\n'))
    assert settings.smtp.password.get_secret_value() == "000123"
    quoted = load(write(tmp_path, '[smtp]\npassword = "123456"\n'))
    assert quoted.smtp.password.get_secret_value() == "123456"


@pytest.mark.parametrize("number", ["123456", "1_000", "0x1F", "1e3", "12.50"])
def test_an_unquoted_toml_number_as_password_is_refused_with_the_fix(tmp_path, number):
    # TOML reads these as numbers; turned back into text they may not be what was typed
    # ("1_000" -> "1000", "0x1F" -> "31"), so otp-tui asks for quotes instead of guessing.
    config = write(tmp_path, f"[smtp]\npassword = {number}\n")
    assert problems(config) == [
        f"{config.path}: smtp.password: must be text: put the value in quotes"
    ]


@pytest.mark.parametrize(
    ("flag", "section", "key", "expected"),
    [
        ("sender.subject=2024", "sender", "subject", "2024"),
        ("sender.name=true", "sender", "name", "true"),
        ("sender.name=null", "sender", "name", "null"),
        ("sender.name=[not json", "sender", "name", "[not json"),
        ("policy.code_ttl=300", "policy", "code_ttl", 300),
        ("smtp.validate_certs=false", "smtp", "validate_certs", False),
        ("smtp.timeout=2.5", "smtp", "timeout", 2.5),
        ('access.allowed_domains=["a.example", "b.example"]', "access", "allowed_domains",
         ("a.example", "b.example")),
    ],
)  # fmt: skip
def test_set_takes_any_string_for_a_string_key_and_converts_the_others(
    tmp_path, flag, section, key, expected
):
    settings = load(write(tmp_path, ""), [flag])
    assert getattr(getattr(settings, section), key) == expected


def test_an_item_of_a_list_flag_is_blamed_on_the_flag(tmp_path):
    lines = problems(write(tmp_path, ""), ["access.allowed_domains=[1]"])
    assert lines == ["--set: access.allowed_domains.0: must be text: put the value in quotes"]


# --- values nested without end --------------------------------------------------------------

DEEP = 10_000


def deep_documents():
    arrays = "[" * DEEP + "]" * DEEP
    tables = "{a = " * DEEP + "1" + "}" * DEEP
    return {
        "array": f"a = {arrays}\n",
        "array under a key": f"[access]\nallowed_domains = {arrays}\n",
        "inline tables": f"[smtp]\nhost = {tables}\n",
        "mixed": "a = " + "[{b = " * (DEEP // 2) + "1" + "}]" * (DEEP // 2) + "\n",
    }


@pytest.mark.parametrize("name", list(deep_documents()))
def test_a_deeply_nested_file_is_one_line_and_exit_2(tmp_path, capsys, name):
    path = tmp_path / "deep.toml"
    path.write_text(deep_documents()[name])
    assert main(["--config", str(path), "check"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: nested too deeply (arrays or tables inside one another)"
    ]


def test_deeply_nested_table_headers_are_one_line(tmp_path, capsys):
    path = tmp_path / "deep.toml"
    path.write_text("[" + ".".join(["a"] * DEEP) + "]\nx = 1\n")
    assert main(["--config", str(path), "check"]) == 2
    assert capsys.readouterr().err.splitlines() == [f"{path}: a: unknown key"]


def test_a_deeply_nested_flag_is_one_line(tmp_path, capsys):
    value = "[" * DEEP + "]" * DEEP
    config = write(tmp_path, "")
    assert main(["--config", str(config.path), "--set", f"access.allowed_domains={value}"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "--set access.allowed_domains: nested too deeply (arrays or tables inside one another)"
    ]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("OTP_TUI_ACCESS__ALLOWED_DOMAINS", "[" * DEEP + "]" * DEEP, "nested too deeply"),
        ("OTP_TUI_SMTP", '{"a":' * DEEP + "1" + "}" * DEEP, "nested too deeply"),
        ("OTP_TUI_ACCESS__ALLOWED_DOMAINS", "[x", "not valid JSON"),
        ("OTP_TUI_SMTP", "{host", "not valid JSON"),
    ],
)
def test_an_environment_value_that_is_not_json_or_too_deep_is_one_line(
    tmp_path, capsys, monkeypatch, name, value, message
):
    monkeypatch.setenv(name, value)
    config = write(tmp_path, "")
    assert main(["--config", str(config.path), "check"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    key = ".".join(name.removeprefix("OTP_TUI_").lower().split("__"))
    assert line.startswith(f"{name}: {key}: {message}")


def test_deep_nesting_in_a_real_process_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text(deep_documents()["array"])
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("OTP_TUI_")}
    env["OTP_TUI_ACCESS__ALLOWED_DOMAINS"] = "[" * DEEP + "]" * DEEP
    env["PYTHONPATH"] = str(ROOT)
    for argv in (
        ["--config", str(path), "check"],
        ["--config", str(write(tmp_path, "", "empty.toml").path), "check"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "otp_tui", *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        [line] = result.stderr.splitlines()
        assert "nested too deeply" in line


# --- values bound for a header or a protocol line -------------------------------------------

LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
CONTROLS = "\x00\x07\x08\t\x1b\x7f\x80\x9b\x9f"


def test_the_line_breaks_refused_are_all_that_splitlines_knows():
    from otp_tui.config.schema import _LINE_BREAKS

    breakers = {
        chr(point)
        for point in range(0x110000)
        if not 0xD800 <= point <= 0xDFFF and len(f"a{chr(point)}b".splitlines()) > 1
    }
    assert breakers == set(_LINE_BREAKS) == set(LINE_BREAKS)


@pytest.mark.parametrize("char", list(LINE_BREAKS + CONTROLS))
@pytest.mark.parametrize(
    ("section", "key"),
    [("sender", "subject"), ("sender", "name"), ("smtp", "host"), ("smtp", "username")],
)
def test_header_values_with_any_line_break_or_control_are_refused_naming_the_key(
    tmp_path, section, key, char
):
    escaped = f"\\u{ord(char):04x}"
    config = write(tmp_path, f'[{section}]\n{key} = "Your{escaped}code"\n')
    [line] = problems(config)
    assert line.startswith(f"{config.path}: {section}.{key}: must not contain line breaks")
    assert f"U+{ord(char):04X}" in line
    assert line.isprintable()


def test_a_header_value_from_the_environment_is_refused_too(tmp_path, monkeypatch):
    monkeypatch.setenv("OTP_TUI_SENDER__SUBJECT", "Your\u2028code")
    [line] = problems(write(tmp_path, ""))
    assert line.startswith("OTP_TUI_SENDER__SUBJECT: sender.subject: must not contain")


@pytest.mark.parametrize(
    "subject", ["Votre code de vérification", "确认码", "رمز التحقق", "Code 👩\u200d💻", "a\u00a0b"]
)
def test_ordinary_text_in_any_script_is_a_fine_subject(tmp_path, subject):
    settings = load(write(tmp_path, f'[sender]\nsubject = "{subject}"\n'))
    assert settings.sender.subject == subject


# --- text from outside in error lines -------------------------------------------------------


def test_an_unknown_key_with_escapes_is_shown_not_obeyed(tmp_path):
    config = write(tmp_path, '[smtp]\n"\\u001b]0;pwned\\u0007\\u001b[2J" = 1\n')
    [line] = problems(config)
    assert "\x1b" not in line
    assert "\x07" not in line
    assert "\\x1b]0;pwned\\x07\\x1b[2J: unknown key" in line


def test_a_config_path_with_escapes_is_shown_not_obeyed(tmp_path, capsys):
    path = tmp_path / "evil\x1b[2J\u202e.toml"
    assert main(["--config", str(path), "check"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "\u202e" not in err
    assert "evil\\x1b[2J\\u202e.toml: no such file" in err


def test_a_cli_failure_quoting_a_path_with_escapes_shows_them_not_obeys_them(tmp_path, capsys):
    config = write(tmp_path, "")
    # Under a regular file: a directory that cannot be made.
    ledger = f"{config.path}/evil\x1b[2J\u202e/ledger.sqlite3"
    argv = ["--config", str(config.path), "--set", f"state.ledger={ledger}"]
    assert main([*argv, "status", "a@example.com"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "\u202e" not in err
    assert "evil\\x1b[2J\\u202e" in err


# --- secrets in files others can read -------------------------------------------------------


def warnings_for(config, overrides=()):
    found: list[str] = []
    load_settings(config, parse_overrides(list(overrides)), warnings=found)
    return found


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_config_holding_a_password_readable_by_others_gets_a_warning(tmp_path, mode):
    config = write(tmp_path, '[smtp]\npassword = "hunter2"\n')
    config.path.chmod(mode)
    [line] = warnings_for(config)
    assert line == (
        f"{config.path}: warning: holds smtp.password and can be read by group or others "
        f"(mode {mode:04o}); chmod go-rwx it, or move the secret to the environment or a "
        "password file"
    )


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o620])
def test_a_private_config_holding_a_password_gets_none(tmp_path, mode):
    config = write(tmp_path, '[smtp]\npassword = "hunter2"\n')
    config.path.chmod(mode)
    assert warnings_for(config) == []


def test_a_readable_config_without_secrets_gets_none(tmp_path):
    config = write(tmp_path, '[smtp]\nhost = "mail.example.com"\n[sender]\naddress = "o@x.com"\n')
    config.path.chmod(0o644)
    assert warnings_for(config) == []


def test_a_url_with_a_password_counts_as_a_secret_in_any_key():
    from otp_tui.config.secrets import _secrets_in

    document = {
        "state": {"ledger": "redis://:hunter2@127.0.0.1:6379/0", "audit_log": "/x"},
        "future": {"deep": {"api_token": "t", "url": "rediss://u:p@h/0", "plain": "redis://h"}},
    }
    assert _secrets_in(document) == ["future.deep.api_token", "future.deep.url", "state.ledger"]


def test_a_password_file_readable_by_others_gets_a_warning(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("hunter2\n")
    secret.chmod(0o640)
    config = write(tmp_path, f'[smtp]\npassword_file = "{secret}"\n')
    config.path.chmod(0o644)  # it names the file; the secret is in the other one
    assert warnings_for(config) == [
        f"{secret}: warning: smtp.password_file can be read by group or others (mode 0640); "
        "chmod go-rwx it"
    ]
    secret.chmod(0o600)
    assert warnings_for(config) == []


def test_the_cli_prints_the_warning_and_runs_on(tmp_path, capsys):
    ledger = tmp_path / "ledger.sqlite3"
    config = write(tmp_path, f'[smtp]\npassword = "hunter2"\n[state]\nledger = "{ledger}"\n')
    config.path.chmod(0o644)
    assert main(["--config", str(config.path), "status", "a@example.com"]) == 0
    err = capsys.readouterr().err
    assert err.startswith(f"{config.path}: warning: holds smtp.password")
    assert "hunter2" not in err


# --- the allowlist holds only addresses otp-tui would mail ----------------------------------


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        ("a%b@corp.example", "an encoded word or % or ! routing, which otp-tui refuses"),
        ("=?utf-8?q?a?=@corp.example", "an encoded word or % or ! routing, which otp-tui refuses"),
        ("not an address", "An email address must have an @-sign."),
    ],
)
def test_an_allowlisted_address_otp_tui_would_refuse_is_a_config_error(tmp_path, entry, says):
    config = write(tmp_path, f'[access]\nallowed_addresses = ["ok@corp.example", "{entry}"]\n')
    assert problems(config) == [f"{config.path}: access.allowed_addresses: {entry}: {says}"]


def test_plain_allowlisted_addresses_are_taken(tmp_path):
    config = write(
        tmp_path, '[access]\nallowed_addresses = ["ok@corp.example", "Ö@corp.example"]\n'
    )
    assert load(config).access.allowed_addresses == ("ok@corp.example", "Ö@corp.example")


@pytest.mark.parametrize("host", ["mail.example.com", "192.0.2.7", "2001:db8::1"])
def test_no_encryption_to_another_host_is_refused_unless_allowed(host):
    from otp_tui.config.schema import SmtpSettings

    with pytest.raises(ValueError, match="only for a relay on this machine"):
        SmtpSettings(host=host, security="none")
    allowed = SmtpSettings(host=host, security="none", allow_unencrypted_remote=True)
    assert allowed.security == "none"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
def test_no_encryption_to_this_machine_is_fine(host):
    from otp_tui.config.schema import SmtpSettings

    assert SmtpSettings(host=host, security="none").security == "none"
