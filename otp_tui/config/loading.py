"""Loading the settings: find the file, read it, apply flags and environment, explain failures.

Precedence, highest first: ``--set section.key=value`` flags, ``OTP_TUI_<SECTION>__<KEY>``
environment variables, the TOML file, the defaults in `otp_tui.config.schema`. Every problem is
reported as one line naming where the bad value came from and its dotted key, and never echoes a
secret; every line passes through `otp_tui.core.untrusted.visible`, since keys and paths come
from files, flags and the environment.

The lines otp-tui writes itself are worded in the language in use. What pydantic says about a
value ("Input should be a valid integer"), what tomllib says about TOML and what the system
says (strerror) come in English from those libraries and are kept as they are, after the
source and the key; so are the validators' own messages in `otp_tui.config.schema`.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsError

from otp_tui.config.paths import user_config_dir
from otp_tui.config.schema import (
    ENV_DELIMITER,
    ENV_PREFIX,
    Settings,
    _TomlDataSource,
    toml_data,
)
from otp_tui.language import _

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

CONFIG_ENV_VAR = "OTP_TUI_CONFIG"


class ConfigError(Exception):
    """Configuration that cannot be used; `problems` holds one printable line each."""

    def __init__(self, problems: list[str]) -> None:
        problems = _shown(problems)
        super().__init__("\n".join(problems))
        self.problems = problems


def _shown(lines: list[str]) -> list[str]:
    """Lines made safe for a terminal: keys, paths and messages may hold text from outside."""
    # Imported here: only a problem or a warning needs it, and the core stays off start-up.
    from otp_tui.core.untrusted import visible

    return [visible(line) for line in lines]


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
            raise ConfigError([_("{path}: no such file").format(path=config.path)]) from None
        return {}
    except OSError as error:
        # TRANSLATORS: {reason} is the system's (Permission denied, ...).
        problem = _("{path}: cannot read: {reason}").format(path=config.path, reason=error.strerror)
        raise ConfigError([problem]) from None
    try:
        document: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
        return document
    except UnicodeDecodeError:
        raise ConfigError([_("{path}: not UTF-8 text").format(path=config.path)]) from None
    except RecursionError:  # tomllib parses arrays and inline tables by recursion
        raise ConfigError([_too_deep(str(config.path))]) from None
    except tomllib.TOMLDecodeError as error:
        # The message already ends "(at line N, column M)"; keep only the first line of it.
        raise ConfigError([f"{config.path}: {str(error).splitlines()[0]}"]) from None


def _too_deep(where: str) -> str:
    # TRANSLATORS: {where} is the file, "--set KEY" or "VARIABLE: key" that held the value.
    return _("{where}: nested too deeply (arrays or tables inside one another)").format(where=where)


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
                problems.append(_too_deep(f"--set {key}"))
                continue
            except ValueError:
                pass  # not JSON: the text itself, which a string key may well hold
        tree.setdefault(parts[0], {})[parts[1]] = value
    if problems:
        raise ConfigError(problems)
    return tree


# --- secrets: never on the command line, and warned about in files others can read ----------

# A key names a secret if its name holds one of these; `password_file` and the like name the
# file that holds one, which is the recommended route and no secret itself.
_SECRET_WORDS = ("password", "passwd", "passphrase", "secret", "token", "credential", "api_key")
_NOT_A_SECRET_SUFFIXES = ("_file", "_path", "_dir")
# scheme://user:password@host, whatever the key (a Redis ledger URL, say): the password part.
_URL_WITH_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@\"']*:[^\s/?#@\"']*@")


def is_secret_key(key: str) -> bool:
    """Whether a configuration key (its last part) holds a secret value."""
    name = key.lower()
    return any(word in name for word in _SECRET_WORDS) and not name.endswith(_NOT_A_SECRET_SUFFIXES)


def holds_url_password(value: object) -> bool:
    return isinstance(value, str) and _URL_WITH_PASSWORD.search(value) is not None


def secret_on_command_line(section: str, key: str, text: str) -> str | None:
    """Why `--set section.key=text` is refused, or None. `/proc/PID/cmdline` (what `ps`
    shows) can be read by every user of the machine, for as long as otp-tui runs."""
    env_name = _env_name((section, key))
    secret = is_secret_key(key)
    if not secret and not holds_url_password(text):
        return None
    file_key = f"{section}.{key}_file"
    if _has_key(section, f"{key}_file"):
        if secret:
            # TRANSLATORS: {variable} is an environment variable, {file_key} a configuration
            # key; "ps" is the program that shows command lines.
            sentence = _(
                "a secret on the command line can be read by every user of this machine (ps); "
                "set {variable} in the environment, or {file_key}"
            )
        else:
            sentence = _(
                "a URL with a password on the command line can be read by every user of this "
                "machine (ps); set {variable} in the environment, or {file_key}"
            )
    elif secret:
        sentence = _(
            "a secret on the command line can be read by every user of this machine (ps); "
            "set {variable} in the environment, or put it in the configuration file"
        )
    else:
        sentence = _(
            "a URL with a password on the command line can be read by every user of this "
            "machine (ps); set {variable} in the environment, or put it in the configuration file"
        )
    return sentence.format(variable=env_name, file_key=file_key)


def _has_key(section: str, key: str) -> bool:
    field = Settings.model_fields.get(section)
    model = field.annotation if field is not None else None
    return isinstance(model, type) and issubclass(model, BaseModel) and key in model.model_fields


def _readable_by_others(path: Path) -> int | None:
    """The file's mode if group or others may read it, else None (also when it is absent)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & (stat.S_IRGRP | stat.S_IROTH) else None


def _secrets_in(document: Mapping[str, Any]) -> list[str]:
    """The dotted keys of `document` that hold a secret (by name, or a URL with a password)."""
    found = []
    pending: list[tuple[str, Any]] = [(key, value) for key, value in document.items()]
    while pending:  # no recursion: the document's depth is the file's to choose
        key, value = pending.pop()
        if isinstance(value, Mapping):
            pending.extend((f"{key}.{name}", inner) for name, inner in value.items())
        elif value not in (None, "") and (
            is_secret_key(key.rpartition(".")[2]) or holds_url_password(value)
        ):
            found.append(key)
    return sorted(found)


def _secret_files(settings: Settings) -> list[tuple[str, Path]]:
    """Every `*password_file`-like key that is set: the files that hold secrets."""
    files = []
    for section, model in settings:
        if not isinstance(model, BaseModel):
            continue
        for key in type(model).model_fields:
            value = getattr(model, key)
            words_only = key.lower().removesuffix("_file")
            if key.endswith("_file") and is_secret_key(words_only) and isinstance(value, Path):
                files.append((f"{section}.{key}", value))
    return files


def exposure_warnings(
    config: ConfigFile, document: Mapping[str, Any], settings: Settings
) -> list[str]:
    """One warning line per secret that others on this machine may read, as ssh does for keys.

    A warning, not a refusal: on a single-user machine a 0644 file is no leak, and refusing
    would stop runs that worked. `otp-tui gate`, which runs for other users, refuses instead.
    """
    lines = []
    held = _secrets_in(document)
    mode = _readable_by_others(config.path) if held else None
    if mode is not None:
        # TRANSLATORS: {keys} lists configuration keys ("smtp.password, state.ledger");
        # {mode} is like 0644; "chmod go-rwx" is a command, keep it as it is.
        warning = _(
            "{path}: warning: holds {keys} and can be read by group or others (mode {mode}); "
            "chmod go-rwx it, or move the secret to the environment or a password file"
        )
        lines.append(warning.format(path=config.path, keys=", ".join(held), mode=f"{mode:04o}"))
    for key, path in _secret_files(settings):
        mode = _readable_by_others(path)
        if mode is not None:
            # TRANSLATORS: {key} is a configuration key such as smtp.password_file.
            warning = _(
                "{path}: warning: {key} can be read by group or others (mode {mode}); "
                "chmod go-rwx it"
            )
            lines.append(warning.format(path=path, key=key, mode=f"{mode:04o}"))
    return _shown(lines)


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
        if _env_name(loc[:depth]) in upper_env:
            return _env_name(loc[:depth])
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
    data = _read_toml(config)
    token = toml_data.set(data)
    try:
        settings = Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(_describe(error, overrides, environ, config)) from None
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
            problems.append(_too_deep(f"{name}: {key}"))
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


def _describe(
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
