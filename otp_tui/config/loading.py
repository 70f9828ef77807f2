"""Loading the settings: find the file, read it, apply flags and environment, explain failures.

Precedence, highest first: ``--set section.key=value`` flags, ``OTP_TUI_<SECTION>__<KEY>``
environment variables, the TOML file, the defaults in `otp_tui.config.schema`. Every problem is
reported as one line naming where the bad value came from and its dotted key, and never echoes a
secret.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from otp_tui.config.paths import user_config_dir
from otp_tui.config.schema import (
    ENV_DELIMITER,
    ENV_PREFIX,
    Settings,
    _TomlDataSource,
    toml_data,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

CONFIG_ENV_VAR = "OTP_TUI_CONFIG"


class ConfigError(Exception):
    """Configuration that cannot be used; `problems` holds one printable line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    explicit: bool  # named by --config or $OTP_TUI_CONFIG: then it must exist


def locate_config(cli_path: str | None, environ: Mapping[str, str] = os.environ) -> ConfigFile:
    if cli_path:
        return ConfigFile(Path(cli_path).expanduser(), explicit=True)
    if environ.get(CONFIG_ENV_VAR):
        return ConfigFile(Path(environ[CONFIG_ENV_VAR]).expanduser(), explicit=True)
    return ConfigFile(user_config_dir() / "config.toml", explicit=False)


def _read_toml(config: ConfigFile) -> dict[str, Any]:
    try:
        raw = config.path.read_bytes()
    except FileNotFoundError:
        if config.explicit:
            raise ConfigError([f"{config.path}: no such file"]) from None
        return {}
    except OSError as error:
        raise ConfigError([f"{config.path}: cannot read: {error.strerror}"]) from None
    try:
        document: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
        return document
    except UnicodeDecodeError:
        raise ConfigError([f"{config.path}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as error:
        # The message already ends "(at line N, column M)"; keep only the first line of it.
        raise ConfigError([f"{config.path}: {str(error).splitlines()[0]}"]) from None


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``["policy.code_ttl=300"]`` into ``{"policy": {"code_ttl": 300}}``."""
    tree: dict[str, Any] = {}
    problems = []
    for pair in pairs:
        key, sep, text = pair.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) != 2 or not all(parts):
            problems.append(f"--set {pair}: expected SECTION.KEY=VALUE")
            continue
        try:
            value: Any = json.loads(text)  # numbers, booleans and lists as JSON
        except ValueError:
            value = text
        tree.setdefault(parts[0], {})[parts[1]] = value
    if problems:
        raise ConfigError(problems)
    return tree


def _env_name(loc: tuple[str, ...]) -> str:
    return ENV_PREFIX + ENV_DELIMITER.join(part.upper() for part in loc)


def _where(
    loc: tuple[str, ...],
    overrides: Mapping[str, Any],
    environ: Mapping[str, str],
    config: ConfigFile,
) -> str:
    """Name the source that supplied the value at `loc`, highest precedence first."""
    node: Any = overrides
    for part in loc:
        node = node.get(part) if isinstance(node, Mapping) else None
    if node is not None:
        return "--set"
    upper_env = {key.upper() for key in environ}
    for depth in range(len(loc), 0, -1):
        if _env_name(loc[:depth]) in upper_env:
            return _env_name(loc[:depth])
    return str(config.path.name if not config.explicit else config.path)


def load_settings(
    config: ConfigFile,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] = os.environ,
) -> Settings:
    """Build the settings or raise ConfigError with one line per problem."""
    overrides = overrides or {}
    data = _read_toml(config)
    token = toml_data.set(data)
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(_describe(error, overrides, environ, config)) from None
    finally:
        toml_data.reset(token)


def _describe(
    error: ValidationError,
    overrides: Mapping[str, Any],
    environ: Mapping[str, str],
    config: ConfigFile,
) -> list[str]:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        loc = tuple(str(part) for part in item["loc"])
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if not loc:  # a rule across sections: its message names the keys itself
            problems.append(f"{config.path}: {message}")
            continue
        where = _where(loc, overrides, environ, config)
        problems.append(f"{where}: {'.'.join(loc)}: {message}")
    return problems


# --- gate mode ----------------------------------------------------------------------------

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
    data = _read_toml(config)
    token = toml_data.set(data)
    try:
        return _OperatorSettings()
    except ValidationError as error:
        raise ConfigError(_describe(error, {}, {}, config)) from None
    finally:
        toml_data.reset(token)
