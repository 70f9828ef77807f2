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
