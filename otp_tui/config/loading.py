"""Loading the settings: read the file, apply flags and environment, explain failures.

Precedence, highest first: ``--set section.key=value`` flags, ``OTP_TUI_<SECTION>__<KEY>``
environment variables, the TOML file (`otp_tui.config.sources` finds and reads it), the
defaults in `otp_tui.config.schema`. Every problem is reported as one line naming where the bad
value came from and its dotted key, and never echoes a secret (`otp_tui.config.secrets`).

The lines otp-tui writes itself are worded in the language in use. What pydantic says about a
value ("Input should be a valid integer"), what tomllib says about TOML and what the system
says (strerror) come in English from those libraries and are kept as they are, after the
source and the key; so are the validators' own messages in `otp_tui.config.schema`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from otp_tui.config.problems import describe
from otp_tui.config.schema import ENV_DELIMITER, ENV_PREFIX, Settings
from otp_tui.config.secrets import exposure_warnings, secret_on_command_line
from otp_tui.config.sources import (
    CONFIG_ENV_VAR,
    ConfigError,
    ConfigFile,
    locate_config,
    read_toml,
    too_deep,
)
from otp_tui.language import _

# What the command line and the program use from here; where settings come from is `sources`.
__all__ = [
    "ConfigError",
    "ConfigFile",
    "describe",
    "load_settings",
    "locate_config",
    "parse_overrides",
]


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``["policy.code_ttl=300"]`` into ``{"policy": {"code_ttl": "300"}}``.

    A value is text, which the settings model converts as a TOML value would be (numbers,
    booleans): so a string key takes any string, `--set sender.subject=2024` included. Only
    a value that starts with `[` or `{` is read as JSON, for the list keys. Secrets are refused:
    the command line is public (see `secret_on_command_line`). No line echoes a value.
    """
    tree: dict[str, Any] = {}
    problems = []
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not sep:  # all of it may be the value: do not echo it
            problems.append(_("--set: expected SECTION.KEY=VALUE, got an argument without '='"))
            continue
        if len(parts) != 2 or not all(parts):
            problems.append(_("--set {key}: expected SECTION.KEY=VALUE").format(key=key))
            continue
        refusal = secret_on_command_line(parts[0], parts[1], text)
        if refusal is not None:
            problems.append(f"--set {key}: {refusal}")
            continue
        value: Any = text
        if text.lstrip()[:1] in ("[", "{"):
            try:
                value = json.loads(text)
            except RecursionError:
                problems.append(too_deep(f"--set {key}"))
                continue
            except ValueError:
                pass  # not JSON: the text itself, which a string key may well hold
        tree.setdefault(parts[0], {})[parts[1]] = value
    if problems:
        raise ConfigError(problems)
    return tree


# The TOML file's contents for the load in progress; a source cannot take constructor arguments.
toml_data: ContextVar[Mapping[str, Any]] = ContextVar("toml_data")


class _TomlDataSource(PydanticBaseSettingsSource):
    """Hands pydantic-settings the TOML document that `load_settings` already parsed."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return toml_data.get({}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(toml_data.get({}))


class _LayeredSettings(Settings, BaseSettings):
    """`Settings` fed by `--set` (as keyword arguments), the environment and the file, in that
    order of precedence. Only the sources are added here: the fields and rules are Settings'."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
        extra="forbid",
        frozen=True,
        case_sensitive=False,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlDataSource(settings_cls))


def load_settings(
    config: ConfigFile,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] = os.environ,
    *,
    warnings: list[str] | None = None,
) -> Settings:
    """Build the settings or raise ConfigError with one line per problem.

    With `warnings`, lines about secrets others may read (`exposure_warnings`) are added to it.
    """
    overrides = overrides or {}
    data = read_toml(config)
    token = toml_data.set(data)
    try:
        settings: Settings = _LayeredSettings(**overrides)
    except ValidationError as error:
        raise ConfigError(describe(error, overrides, environ, config)) from None
    except (SettingsError, RecursionError):
        # pydantic-settings reads list and table values from the environment as JSON, and
        # raises (with a traceback's worth of chain) when one is not JSON or too deep.
        raise ConfigError(_environment_problems(environ)) from None
    finally:
        toml_data.reset(token)
    if warnings is not None:
        warnings.extend(exposure_warnings(config, data, settings))
    return settings


def _environment_problems(environ: Mapping[str, str]) -> list[str]:
    problems = []
    for name, value in sorted(environ.items()):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper == CONFIG_ENV_VAR:
            continue
        if value.lstrip()[:1] not in ("[", "{"):
            continue
        key = ".".join(upper[len(ENV_PREFIX) :].lower().split(ENV_DELIMITER))
        try:
            json.loads(value)
        except RecursionError:
            problems.append(too_deep(f"{name}: {key}"))
        except ValueError:
            # TRANSLATORS: {variable} is an environment variable, {key} its configuration key.
            problem = _("{variable}: {key}: not valid JSON (lists and tables are given as JSON)")
            problems.append(problem.format(variable=name, key=key))
    # TRANSLATORS: {prefix} is "OTP_TUI_", the start of the variables' names.
    unreadable = _("{prefix}*: a value in the environment could not be read")
    return problems or [unreadable.format(prefix=ENV_PREFIX)]
