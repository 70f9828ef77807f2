"""Configuration: one pydantic-settings model fed by flags, environment, a TOML file and defaults.

Precedence, highest first: ``--set section.key=value`` flags, ``OTP_TUI_<SECTION>__<KEY>``
environment variables, the TOML file, the defaults below. Every problem is reported as one line
naming where the bad value came from and its dotted key, and never echoes a secret.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

ENV_PREFIX = "OTP_TUI_"
ENV_DELIMITER = "__"
CONFIG_ENV_VAR = "OTP_TUI_CONFIG"
APP_NAME = "otp-tui"

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


def _no_line_breaks(value: str | None) -> str | None:
    # Header values must never carry CR or LF: that is how header injection starts.
    if value is not None and ("\r" in value or "\n" in value):
        raise ValueError("must not contain line breaks")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmtpSettings(_Section):
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    timeout: float = Field(default=15.0, gt=0, le=600)
    ca_file: Path | None = None
    validate_certs: bool = True

    @field_validator("host", "username")
    @classmethod
    def _single_line(cls, value: str | None) -> str | None:
        return _no_line_breaks(value)

    @field_validator("password_file", "ca_file")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @model_validator(mode="after")
    def _password_from_file(self) -> SmtpSettings:
        if self.password_file is None:
            return self
        if self.password is not None:
            raise ValueError("set either password or password_file, not both")
        try:
            secret = self.password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as error:
            # strerror only: the message names the file, never its contents.
            raise ValueError(
                f"cannot read password_file {self.password_file}: {error.strerror}"
            ) from None
        object.__setattr__(self, "password", SecretStr(secret))
        return self

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]


# The sender address is checked before the first screen, but email-validator (with idna) costs
# about a tenth of otp-tui's start-up. Most From addresses are plain ASCII, so those take a fast
# path: a strict subset of what email-validator accepts, returned in the normal form it would
# give (tests/test_config.py checks both against email-validator itself). Anything else still
# goes to email-validator, error messages included.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")
_PLAIN_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
# email-validator refuses these top-level names (special use), and lowercases these local parts
# (RFC 2142 role mailboxes); both are left to it.
_RESERVED_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_ROLE_MAILBOXES = frozenset(
    {"info", "marketing", "sales", "support", "abuse", "noc", "security", "postmaster"}
    | {"hostmaster", "usenet", "news", "webmaster", "www", "uucp", "ftp"}
)


def plain_address(value: str) -> str | None:
    """`value` if it is a plain ASCII address email-validator would accept unchanged, else None."""
    local, at, domain = value.partition("@")
    if not at or len(value) > 254 or len(local) > 64 or len(domain) > 253:
        return None
    if not _PLAIN_LOCAL.fullmatch(local) or not _PLAIN_DOMAIN.fullmatch(domain):
        return None
    # "--" could be an IDNA label ("xn--"), which email-validator decodes and may refuse.
    if "--" in domain or local.lower() in _ROLE_MAILBOXES:
        return None
    if domain.rpartition(".")[2] in _RESERVED_TLDS:
        return None
    return value


class SenderSettings(_Section):
    address: str | None = None
    name: str = "otp-tui"
    subject: str = "Your verification code"

    @field_validator("address")
    @classmethod
    def _valid_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        plain = plain_address(value)
        if plain is not None:
            return plain
        from email_validator import EmailNotValidError, validate_email

        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError as error:
            raise ValueError(str(error)) from None

    @field_validator("name", "subject")
    @classmethod
    def _single_line(cls, value: str) -> str:
        _no_line_breaks(value)
        return value


class PolicySettings(_Section):
    code_length: int = Field(default=6, ge=6, le=10)
    code_ttl: int = Field(default=600, gt=0)
    resend_cooldown: int = Field(default=60, ge=0)
    max_resends: int = Field(default=3, ge=0)
    max_attempts: int = Field(default=5, ge=1)
    max_sends_per_hour: int = Field(default=5, ge=1)
    lockout: int = Field(default=900, ge=0)
    max_consecutive_failures: int = Field(default=100, ge=1)


class AccessSettings(_Section):
    allowed_domains: tuple[str, ...] = ()
    allowed_addresses: tuple[str, ...] = ()


class StateSettings(_Section):
    ledger: Path | None = None
    audit_log: Path | None = None

    @field_validator("ledger", "audit_log")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


# The TOML file's contents for the load in progress; a source cannot take constructor arguments.
_toml_data: ContextVar[Mapping[str, Any]] = ContextVar("_toml_data")


class _TomlDataSource(PydanticBaseSettingsSource):
    """Hands pydantic-settings the TOML document that `load_settings` already parsed."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return _toml_data.get({}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_toml_data.get({}))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_DELIMITER,
        extra="forbid",
        frozen=True,
        case_sensitive=False,
    )

    smtp: SmtpSettings = SmtpSettings()
    sender: SenderSettings = SenderSettings()
    policy: PolicySettings = PolicySettings()
    access: AccessSettings = AccessSettings()
    state: StateSettings = StateSettings()

    @model_validator(mode="after")
    def _sender_needed_for_real_mail(self) -> Settings:
        if self.smtp.host is not None and self.sender.address is None:
            raise ValueError("sender.address: required once smtp.host is set")
        return self

    @property
    def demo(self) -> bool:
        """No SMTP host configured: mail goes to the embedded loopback outbox."""
        return self.smtp.host is None

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


class ConfigError(Exception):
    """Configuration that cannot be used; `problems` holds one printable line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    explicit: bool  # named by --config or $OTP_TUI_CONFIG: then it must exist


def user_config_dir() -> Path:
    from platformdirs import user_config_dir as _dir

    return Path(_dir(APP_NAME, appauthor=False))


def user_state_dir() -> Path:
    from platformdirs import user_state_dir as _dir

    return Path(_dir(APP_NAME, appauthor=False))


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
    token = _toml_data.set(data)
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigError(_describe(error, overrides, environ, config)) from None
    finally:
        _toml_data.reset(token)


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
