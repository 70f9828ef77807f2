"""The gate's and the PAM helper's settings: the operator's file alone, with no environment,
flag or user file.

The file is validated by the one settings model (`otp_tui.config.schema.Settings`) directly:
no pydantic-settings source is involved, so nothing in the environment can be read (case,
nesting and whole-section JSON such as `otp_tui_smtp='{...}'` are irrelevant by construction),
and the PAM helper does not pay pydantic-settings' import before its first prompt.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from otp_tui.config.schema import Settings
from otp_tui.config.sources import ConfigError, ConfigFile, read_toml

GATE_CONFIG_PATH = Path("/etc/otp-tui/config.toml")


def load_gate_settings(cli_path: str | None) -> Settings:
    """`otp-tui gate`'s settings: `--config PATH` or /etc/otp-tui/config.toml, nothing else.

    No `OTP_TUI_*` variable, no `$OTP_TUI_CONFIG`, no file in the user's config directory and
    no `--set`: in gate mode only the operator configures. The file must exist.
    """
    config = ConfigFile(Path(cli_path) if cli_path else GATE_CONFIG_PATH, explicit=True)
    data = read_toml(config)
    try:
        return Settings.model_validate(data)
    except ValidationError as error:
        # Imported here: wording problems is never on the way to the helper's first prompt.
        from otp_tui.config.problems import describe

        raise ConfigError(describe(error, {}, {}, config)) from None
