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
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from otp_tui.config.schema import ENV_DELIMITER, ENV_PREFIX, Settings, toml_data
from otp_tui.config.secrets import exposure_warnings, secret_on_command_line
from otp_tui.config.sources import (
    CONFIG_ENV_VAR,
    ConfigError,
    ConfigFile,
    env_name,
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


def _where(
    loc: tuple[str, ...],
    overrides: Mapping[str, Any],
    environ: Mapping[str, str],
    config: ConfigFile,
) -> str:
    """Name the source that supplied the value at `loc`, highest precedence first."""
    node: Any = overrides
    for part in loc:
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]  # an item of a list given as JSON
        else:
            node = None
    if node is not None:
        return "--set"
    upper_env = {key.upper() for key in environ}
    for depth in range(len(loc), 0, -1):
        if env_name(loc[:depth]) in upper_env:
            return env_name(loc[:depth])
    return str(config.path.name if not config.explicit else config.path)


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
        settings = Settings(**overrides)
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


# Keys whose rule the whole model checks (see Settings' model validators); their messages
# start with the key.
_CHECKED_WHOLE = frozenset({"mail.templates"})


def describe(
    error: ValidationError,
    overrides: Mapping[str, Any],
    environ: Mapping[str, str],
    config: ConfigFile,
) -> list[str]:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        loc = tuple(str(part) for part in item["loc"])
        # pydantic's own words, in English whatever the language: pydantic has no catalogs.
        # Only the two messages otp-tui words itself are translated.
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            from otp_tui.config.suggestions import suggest_key

            guess = suggest_key(loc, Settings)
            # TRANSLATORS: after "source: section.key:", a key the settings do not have.
            message = _("unknown key")
            if guess is not None:
                # TRANSLATORS: after "source: section.key:", a key the settings do not have,
                # and the known key nearest to it ({key}, as written in a file).
                message = _("unknown key; did you mean {key}?").format(key=guess)
        elif item["type"] == "string_type":
            # TOML `password = 123456` is a number: read back as text it might not be what was
            # typed (1_000, 0x1F, 1e3), so it is refused, with the fix.
            message = _("must be text: put the value in quotes")
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if not loc:
            # A rule about one key, checked once the whole model is read (a template renders
            # with the policy's values), names that key first: blame its source, not the file.
            key, _sep, rest = message.partition(": ")
            if key in _CHECKED_WHOLE:
                where = _where(tuple(key.split(".")), overrides, environ, config)
                problems.append(f"{where}: {key}: {rest}")
                continue
            # A rule across sections: its message names the keys itself.
            problems.append(f"{config.path}: {message}")
            continue
        where = _where(loc, overrides, environ, config)
        problems.append(f"{where}: {'.'.join(loc)}: {message}")
    return problems
