"""The settings model: every section and key otp-tui reads, with its default and its checks.

`otp_tui.config.loading` feeds it (flags, environment, the TOML file) and turns its validation
errors into one line per problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

if TYPE_CHECKING:
    from otp_tui.core.policy import Policy

ENV_PREFIX = "OTP_TUI_"
ENV_DELIMITER = "__"

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
    # An argv list (no shell) whose first line of output is the password, run for each send.
    password_command: tuple[str, ...] | None = None
    # An argv list whose first line of output is a fresh OAuth2 access token (AUTH XOAUTH2).
    oauth2_token_command: tuple[str, ...] | None = None
    # Seconds either command may take before the send fails.
    command_timeout: float = Field(default=10.0, gt=0, le=120)
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

    @field_validator("password_command", "oauth2_token_command")
    @classmethod
    def _usable_argv(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and (not value or not value[0]):
            raise ValueError('must name a program: a list such as ["pass", "show", "smtp"]')
        if value is not None and any("\0" in part for part in value):
            raise ValueError("must not contain NUL characters")
        return value

    @model_validator(mode="after")
    def _one_way_to_log_in(self) -> SmtpSettings:
        passwords = [
            name
            for name in ("password", "password_file", "password_command")
            if getattr(self, name) is not None
        ]
        if self.oauth2_token_command is not None:
            if passwords:
                raise ValueError(f"oauth2_token_command excludes {passwords[0]}: set one of them")
            if self.username is None:
                raise ValueError("oauth2_token_command needs username (the account)")
        if len(passwords) == 2:
            raise ValueError(f"set either {passwords[0]} or {passwords[1]}, not both")
        if len(passwords) == 3:
            raise ValueError("set one of password, password_file and password_command")
        if self.password_command is not None and self.username is None:
            raise ValueError("password_command needs username")
        return self

    @model_validator(mode="after")
    def _password_from_file(self) -> SmtpSettings:
        if self.password_file is None:
            return self
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


class MailSettings(_Section):
    # A folder with subject.txt, body.txt and body.html (each optional), and <language>/
    # subfolders; checked when the configuration is loaded (see otp_tui.mail.templates).
    templates: Path | None = None

    @field_validator("templates")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


class PolicySettings(_Section):
    # The same defaults as the core's `Policy`; tests/test_config.py holds the two together.
    # (Not imported from it: the core stays off the start-up path, and the first frame needs
    # these settings.)
    code_length: int = Field(default=6, ge=6, le=10)
    code_ttl: int = Field(default=600, gt=0)
    resend_cooldown: int = Field(default=60, ge=0)
    max_resends: int = Field(default=3, ge=0)
    max_attempts: int = Field(default=5, ge=1)
    max_sends_per_hour: int = Field(default=5, ge=1)
    lockout: int = Field(default=900, ge=0)
    max_consecutive_failures: int = Field(default=100, ge=1)

    def to_policy(self) -> Policy:
        from otp_tui.core.policy import Policy

        return Policy(**self.model_dump())


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
toml_data: ContextVar[Mapping[str, Any]] = ContextVar("toml_data")


class _TomlDataSource(PydanticBaseSettingsSource):
    """Hands pydantic-settings the TOML document that `load_settings` already parsed."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return toml_data.get({}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(toml_data.get({}))


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
    mail: MailSettings = MailSettings()
    policy: PolicySettings = PolicySettings()
    access: AccessSettings = AccessSettings()
    state: StateSettings = StateSettings()

    @model_validator(mode="after")
    def _sender_needed_for_real_mail(self) -> Settings:
        if self.smtp.host is not None and self.sender.address is None:
            raise ValueError("sender.address: required once smtp.host is set")
        return self

    @model_validator(mode="after")
    def _templates_render(self) -> Settings:
        # Rendered with a sample now, so a broken template stops the start, not the first send.
        # Imported only here: Jinja2 is loaded only when templates are configured.
        if self.mail.templates is not None:
            from otp_tui.mail.templates import check_templates

            check_templates(
                self.mail.templates,
                code_length=self.policy.code_length,
                ttl_seconds=self.policy.code_ttl,
                sender_name=self.sender.name,
            )
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
