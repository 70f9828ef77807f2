"""`otp-tui gate`'s settings: the operator's file alone, with no environment, flag or user file."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from otp_tui.config.loading import describe
from otp_tui.config.schema import Settings, _TomlDataSource, toml_data
from otp_tui.config.sources import ConfigError, ConfigFile, read_toml

GATE_CONFIG_PATH = Path("/etc/otp-tui/config.toml")


class _OperatorSettings(Settings):
    """The settings model fed by the operator's file alone: no environment source at all.

    Dropping the source (rather than filtering names) is what makes case, nesting and whole-
    section JSON (`otp_tui_smtp='{...}'`) irrelevant: nothing in the environment is read.
    """

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (_TomlDataSource(settings_cls),)


def load_gate_settings(cli_path: str | None) -> Settings:
    """`otp-tui gate`'s settings: `--config PATH` or /etc/otp-tui/config.toml, nothing else.

    No `OTP_TUI_*` variable, no `$OTP_TUI_CONFIG`, no file in the user's config directory and
    no `--set`: in gate mode only the operator configures. The file must exist.
    """
    config = ConfigFile(Path(cli_path) if cli_path else GATE_CONFIG_PATH, explicit=True)
    data = read_toml(config)
    token = toml_data.set(data)
    try:
        return _OperatorSettings()
    except ValidationError as error:
        raise ConfigError(describe(error, {}, {}, config)) from None
    finally:
        toml_data.reset(token)
