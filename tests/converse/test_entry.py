"""The helper's own entry takes what the module passes, `--config PATH`, and nothing else."""

import pytest

from otp_tui.converse.__main__ import UsageError, config_argument


def test_no_argument_means_the_default_file() -> None:
    assert config_argument([]) is None


def test_the_config_path_the_module_passes() -> None:
    assert config_argument(["--config", "/etc/otp-tui/config.toml"]) == "/etc/otp-tui/config.toml"


@pytest.mark.parametrize(
    "argv",
    [
        ["--config"],
        ["--config", ""],
        ["--config=/etc/otp-tui/config.toml"],
        ["--config", "/a", "--config", "/b"],
        ["--config", "/a", "--set", "smtp.host=evil.example"],
        ["--set", "smtp.host=evil.example"],
        ["--help"],
        ["pam"],
    ],
)
def test_anything_else_is_a_usage_error(argv: list[str]) -> None:
    with pytest.raises(UsageError):
        config_argument(argv)


def test_the_helper_service_arguments() -> None:
    from otp_tui.converse.__main__ import Serve, serve_arguments

    assert serve_arguments(["--serve", "/run/otp-tui/pam.sock"]) == Serve(
        "/run/otp-tui/pam.sock", None, 300
    )
    assert serve_arguments(
        ["--timeout", "60", "--serve", "/run/x.sock", "--config", "/etc/otp-tui/config.toml"]
    ) == Serve("/run/x.sock", "/etc/otp-tui/config.toml", 60)


@pytest.mark.parametrize(
    "argv",
    [
        ["--serve"],
        ["--serve", ""],
        ["--serve", "/a", "--serve", "/b"],
        ["--serve", "/a", "--timeout", "0"],
        ["--serve", "/a", "--timeout", "3601"],
        ["--serve", "/a", "--timeout", "+5"],
        ["--serve", "/a", "--set", "smtp.host=evil.example"],
        ["--config", "/a", "--timeout", "5"],
    ],
)
def test_anything_else_is_a_usage_error_for_the_service(argv: list[str]) -> None:
    from otp_tui.converse.__main__ import serve_arguments

    with pytest.raises(UsageError):
        serve_arguments(argv)
