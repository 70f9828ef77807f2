"""The settings model: every section and key otp-tui reads, with its default and its checks.

Defined once, as plain pydantic models, and fed by two loaders: `otp_tui.config.loading` for
the command line (flags, environment, the TOML file, through pydantic-settings) and
`otp_tui.config.gate_settings` for the gate and the PAM helper (the operator's file alone,
validated by this same model without pydantic-settings, which costs the helper ~70 ms before
its first prompt). `otp_tui.config.problems` turns validation errors into one line each.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from otp_tui.core.plain_address import plain_address
from otp_tui.language import N_

if TYPE_CHECKING:
    from otp_tui.core.policy import Policy

ENV_PREFIX = "OTP_TUI_"
ENV_DELIMITER = "__"

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


# Every character str.splitlines() breaks a line at (tests/config/test_loading.py checks the list
# against all of Unicode). The C0 and C1 controls among them are refused with the rest below;
# U+2028 and U+2029 are not controls.
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def _no_line_breaks(value: str | None) -> str | None:
    """Refuse a value bound for a mail header or a protocol line that would break it.

    CR or LF is how header injection starts; the other line breaks (VT, FF, NEL, U+2028, ...)
    and controls (C0, DEL, C1, tab) are folded, encoded or refused by mail libraries and
    servers, so a subject holding one would make every send fail, long after the config check.
    """
    if value is None:
        return None
    for char in value:
        if char in _LINE_BREAKS or unicodedata.category(char) == "Cc":
            raise ValueError(
                f"must not contain line breaks or control characters (found U+{ord(char):04X})"
            )
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: a server on this machine."""
    import ipaddress

    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
    # security = "none" is for a relay on this machine; to another host it sends the mail
    # (and any password) in the clear, and only this key, set on purpose, allows that.
    allow_unencrypted_remote: bool = False

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
    def _no_plain_text_across_the_network(self) -> SmtpSettings:
        if (
            self.security == "none"
            and self.host is not None
            and not is_loopback(self.host)
            and not self.allow_unencrypted_remote
        ):
            raise ValueError(
                'smtp.security: "none" is only for a relay on this machine (127.0.0.1, ::1, '
                "localhost); to another host use starttls or tls, or set "
                "smtp.allow_unencrypted_remote = true"
            )
        return self

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


# Demo mode needs no sender address; mail to the loopback outbox still needs a From.
FALLBACK_SENDER = "otp-tui@localhost"


class SenderSettings(_Section):
    address: str | None = None
    # The service the code is for, as the mail names it ("Acme VPN"). Unset: this host's name,
    # which a person can place better than the program's name.
    service: str | None = Field(default=None, min_length=1, max_length=80)
    # The display name on the From line. Unset: the service.
    name: str | None = Field(default=None, min_length=1, max_length=80)
    # Unset: the built-in subject, in the run's language; set: the operator's, as written.
    subject: str = N_("Your verification code for {service}")

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

    @field_validator("service", "name", "subject")
    @classmethod
    def _single_line(cls, value: str | None) -> str | None:
        return _no_line_breaks(value)

    @property
    def service_name(self) -> str:
        """What the mail calls the service: `service`, else this host's name."""
        return self.service or this_host()

    @property
    def from_name(self) -> str:
        """The From line's display name: `name`, else the service."""
        return self.name or self.service_name

    @property
    def from_address(self) -> str:
        return self.address or FALLBACK_SENDER

    @property
    def shown(self) -> str:
        """The sender as a mail client lists it, for the person to look for."""
        return f"{self.from_name} <{self.from_address}>"


def this_host() -> str:
    """This host's name as one clean line (never empty)."""
    import socket

    name = "".join(char for char in socket.gethostname() if char.isprintable()).strip()
    return name or "localhost"


class MailSettings(_Section):
    # A folder with subject.txt, body.txt and body.html (each optional), and <language>/
    # subfolders; checked when the configuration is loaded (see otp_tui.config.templates).
    templates: Path | None = None

    @field_validator("templates")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None


class PolicySettings(_Section):
    # The same defaults as the core's `Policy`; tests/config/test_loading.py holds the two together.
    # (Not imported from it: the core stays off the start-up path, and the first frame needs
    # these settings.)
    code_length: int = Field(default=6, ge=6, le=10)
    code_ttl: int = Field(default=600, gt=0)
    resend_cooldown: int = Field(default=60, ge=0)
    max_resends: int = Field(default=3, ge=0)
    max_attempts: int = Field(default=5, ge=1)
    max_sends_per_hour: int = Field(default=5, ge=1)
    # Across addresses; the core's Policy says why these defaults.
    max_sends_per_hour_total: int = Field(default=60, ge=1)
    max_sends_per_hour_per_requester: int = Field(default=10, ge=1)
    lockout: int = Field(default=900, ge=0)
    max_consecutive_failures: int = Field(default=100, ge=1)

    def to_policy(self) -> Policy:
        from otp_tui.core.policy import Policy

        return Policy(**self.model_dump())


class AccessSettings(_Section):
    allowed_domains: tuple[str, ...] = ()
    allowed_addresses: tuple[str, ...] = ()

    @field_validator("allowed_addresses")
    @classmethod
    def _addresses_otp_tui_would_mail(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        # Checked here, so that a listed address otp-tui would refuse to mail (bad syntax, an
        # encoded word, % or ! routing) is a config error, not a failure at the first send.
        # Imported only when there is a list; a plain address takes normalise_address's fast
        # path, so email-validator is not loaded before the first frame for it either.
        from otp_tui.core.address import RefusedAddress, normalise_address

        for value in values:
            try:
                normalise_address(value)
            except RefusedAddress:
                raise ValueError(
                    f"{value}: an encoded word or % or ! routing, which otp-tui refuses"
                ) from None
            except ValueError as error:  # EmailNotValidError
                raise ValueError(f"{value}: {error}") from None
        return values


SyslogFacility = Literal[
    "auth", "authpriv", "daemon", "user", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
]  # fmt: skip


def _on_cluster(url: str) -> bool:
    from otp_tui.config.ledger_location import Topology, parse_redis

    return parse_redis(url).topology is Topology.CLUSTER


def _on_sentinel(url: str | None) -> bool:
    from otp_tui.config.ledger_location import Topology, parse_redis

    return url is not None and parse_redis(url).topology is Topology.SENTINEL


class StateSettings(_Section):
    # An absolute path (the SQLite ledger), or a Redis URL (the ledger shared by a fleet: one
    # server, a Sentinel group or a Cluster; see config/ledger_location.py).
    ledger: Path | str | None = None
    audit_log: Path | None = None
    # For a Redis ledger: the CA for rediss:// (else the system store), a file holding the
    # password (instead of one in the URL), and the seconds any one step may take.
    ledger_ca_file: Path | None = None
    ledger_password_file: Path | None = None
    # Behind Sentinel: a file holding the sentinels' own password (their requirepass); without
    # it the sentinels are asked without one.
    ledger_sentinel_password_file: Path | None = None
    ledger_timeout: float = Field(default=3.0, gt=0, le=60)
    # For a Redis ledger: how many replicas must acknowledge each write that counts (WAIT)
    # before the run acts on it; 0 for a single server, 1 recommended behind Sentinel.
    ledger_replicas: int = Field(default=0, ge=0, le=16)
    # Audit lines also go to the local syslog daemon under this facility; None: file only.
    syslog_facility: SyslogFacility | None = None
    # The syslog daemon's datagram socket (another path only for a daemon of one's own).
    syslog_socket: Path = Path("/dev/log")

    @field_validator("ledger", mode="before")
    @classmethod
    def _path_or_url(cls, value: object) -> object:
        # Read strictly (ledger_location): an unknown scheme, a URL without its "//" or a
        # relative path is refused, never taken as a file name; the message never quotes the
        # value, which may hold a password.
        from otp_tui.config.ledger_location import looks_like_url, parse_path, parse_redis

        if isinstance(value, str) and looks_like_url(value):
            parse_redis(value)
            return value
        if isinstance(value, (str, Path)):
            return parse_path(value)
        return value

    @model_validator(mode="after")
    def _replicas_need_redis(self) -> StateSettings:
        if self.ledger_replicas and self.ledger_url is None:
            raise ValueError("ledger_replicas needs a Redis ledger (an SQLite file has none)")
        if self.ledger_replicas and self.ledger_url is not None and _on_cluster(self.ledger_url):
            # WAIT counts one connection's writes to one node, and a Cluster's budgets lie on
            # several: not offered rather than half-kept.
            raise ValueError("ledger_replicas is not supported on a Redis Cluster")
        if self.ledger_sentinel_password_file is not None and not _on_sentinel(self.ledger_url):
            raise ValueError("ledger_sentinel_password_file needs a redis+sentinel:// ledger")
        return self

    @field_validator(
        "audit_log", "ledger_ca_file", "ledger_password_file", "ledger_sentinel_password_file"
    )
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @property
    def ledger_url(self) -> str | None:
        """The Redis URL when the ledger is on Redis."""
        return self.ledger if isinstance(self.ledger, str) else None

    @property
    def ledger_path(self) -> Path | None:
        """The SQLite file when one is configured (None: Redis, or the default path)."""
        return self.ledger if isinstance(self.ledger, Path) else None


# `otp-tui gate` only; other commands ignore the section.
DEFAULT_ADDRESSES_FILE = Path("/etc/otp-tui/addresses")
DEFAULT_GATE_STATE_DIR = Path("/var/lib/otp-tui")


class GateSettings(_Section):
    # `user address` lines; None: /etc/otp-tui/addresses, which may then be absent when an
    # address_command is set.
    addresses_file: Path | None = None
    # argv run without a shell, `%u` the user name and `%%` a percent sign; the first line of
    # its output is the address. Consulted for users the addresses file does not list.
    address_command: tuple[str, ...] | None = None
    address_command_timeout: float = Field(default=5.0, gt=0, le=60)
    # Where the gate keeps the ledger and audit trail unless [state] names them: a directory
    # only the service user can write.
    state_dir: Path = DEFAULT_GATE_STATE_DIR
    # A relay that cannot be reached: "deny" keeps the gate shut, "allow" lets the user in
    # (only for failures the sender could not help) with a warning audit line.
    on_mail_failure: Literal["deny", "allow"] = "deny"
    # Seconds a gate session may last from start to end, whatever screen it is on (the code
    # screen, a refusal, a result): then it ends unverified, reason "timeout", with an audit
    # line. A gated user cannot hold a process open for ever.
    session_timeout: float = Field(default=600.0, gt=0, le=86400)

    @field_validator("address_command")
    @classmethod
    def _argv(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not value or not value[0].startswith("/"):
            raise ValueError("must be a list whose first item is an absolute path")
        for item in value:
            if any(char in item for char in "\0\r\n"):
                raise ValueError("must not contain NUL or line breaks")
            if re.search(r"%[^u%]|%$", item.replace("%%", "")):
                raise ValueError("only %u (the user name) and %% may follow a percent sign")
        return value


class UiSettings(_Section):
    # The language of the screens, the plain mode, the messages and the mail: a tag such as
    # "de" or "pt_BR". Unset: the user's locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else
    # English. A language otp-tui does not ship falls back to English without an error.
    language: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8}){0,3}$"
    )


class Settings(BaseModel):
    """The whole configuration. The command line's loader subclasses it to add the environment
    and `--set` (`otp_tui.config.loading`); every field and rule is here, once."""

    # validate_default as pydantic-settings has it, so both loaders check exactly alike. Built
    # when first used: the command line validates through its subclass only, and building
    # this class too would add to every start.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, defer_build=True)

    smtp: SmtpSettings = SmtpSettings()
    sender: SenderSettings = SenderSettings()
    mail: MailSettings = MailSettings()
    policy: PolicySettings = PolicySettings()
    access: AccessSettings = AccessSettings()
    state: StateSettings = StateSettings()
    gate: GateSettings = GateSettings()
    ui: UiSettings = UiSettings()

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
            from otp_tui.config.templates import check_templates

            try:
                check_templates(
                    self.mail.templates,
                    code_length=self.policy.code_length,
                    ttl_seconds=self.policy.code_ttl,
                    sender_name=self.sender.from_name,
                )
            except ValueError as error:
                # The key first: the loader then names where the value came from (--set, a
                # variable or the file), not the file whatever the source.
                raise ValueError(f"mail.templates: {error}") from None
        return self

    @property
    def demo(self) -> bool:
        """No SMTP host configured: mail goes to the embedded loopback outbox."""
        return self.smtp.host is None
