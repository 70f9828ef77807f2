"""Configuration: precedence, the example file, and one readable line per problem."""

import os
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
from otp_tui.config.schema import plain_address

ROOT = Path(__file__).resolve().parent.parent


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
    assert settings.smtp.host == "smtp.example.com"
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
    assert f"{path}: smtp.pasword: unknown key" in lines
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
        parse_overrides(["code_ttl=3"])
    assert raised.value.problems == ["--set code_ttl=3: expected SECTION.KEY=VALUE"]


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
