"""The audit trail: one JSON object per line for every step of a verification.

Each line carries an ISO-8601 UTC timestamp, the event, the address, the local user, the
process id and, over SSH, the client's address; callers add a few fields of their own (the
failure kind, attempts left). Never the code and never a password: field names that look like
either are refused outright, so a careless caller fails in tests rather than in the log.

The user is the real uid's name (never `$USER` or `$LOGNAME`, which anyone can set), or, in
gate mode, the user the gate is verifying (`on_behalf_of`). The client's address comes from
`SSH_CONNECTION` and is kept only when it is an IP address.

With `[state] syslog_facility` set, each line also goes to the local syslog daemon
(`otp_tui.state.audit_syslog`); the file stays the record that must not fail.

Rotation: a run that is under way when logrotate renames the file notices before its next line
(the path no longer names the open file) and reopens the path, so no line lands in the old file.

Concurrent processes append to one file. Each line goes out in a single ``write`` to a
descriptor opened with ``O_APPEND``, which local filesystems apply atomically, so lines never
interleave. (NFS does not promise this; keep the log on a local disk.)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal, get_args

from otp_tui.language import _
from otp_tui.state.errors import AuditError

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings
    from otp_tui.state.audit_syslog import SyslogSink

AUDIT_FILENAME = "audit.jsonl"

AuditEvent = Literal[
    "send_requested",
    "sent",
    "send_failed",
    "wrong_code",
    "verified",
    "locked",
    "cancelled",
    "interrupted",
    "allowed_without_mail",
]
EVENTS: frozenset[str] = frozenset(get_args(AuditEvent))

# The keys every line has; a caller's field may not replace one.
_RESERVED = frozenset({"ts", "event", "address", "user", "pid", "ssh_client"})


def default_audit_path() -> Path:
    # Imported here so that processes which only write the trail do not load pydantic.
    from otp_tui.config.paths import user_state_dir

    return user_state_dir() / AUDIT_FILENAME


# The user a gate is verifying, when it is not the process's own (the gate runs as its service
# user); read when the trail is opened.
_requesting_user: ContextVar[str | None] = ContextVar("requesting_user", default=None)


@contextmanager
def on_behalf_of(user: str) -> Iterator[None]:
    """Trails opened inside record `user` as the user, not the process's real uid."""
    token = _requesting_user.set(user)
    try:
        yield
    finally:
        _requesting_user.reset(token)


def requesting_user() -> str | None:
    """The user set by `on_behalf_of`, if any (None: the real uid's account)."""
    return _requesting_user.get()


def open_audit_log(
    settings: Settings, clock: Callable[[], float] = time.time, *, who: Who | None = None
) -> AuditLog:
    """The trail named by ``[state] audit_log``, or the default one in the user state dir, and
    the syslog copy when ``[state] syslog_facility`` asks for one. `who` names the caller (see
    AuditLog); without it, the real uid's account (or `on_behalf_of`'s user) and SSH_CONNECTION."""
    syslog = None
    if settings.state.syslog_facility is not None:
        from otp_tui.state.audit_syslog import SyslogSink

        syslog = SyslogSink(settings.state.syslog_facility, settings.state.syslog_socket)
    return AuditLog(
        settings.state.audit_log or default_audit_path(),
        clock=clock,
        user=_requesting_user.get(),
        syslog=syslog,
        who=who,
    )


def _forbidden(name: str) -> bool:
    # "code" exactly (an SMTP reply code may still be called smtp_code); anything that mentions
    # a password or secret in any form.
    lowered = name.lower()
    return lowered in {"code", "otp"} or any(
        word in lowered for word in ("password", "passwd", "secret")
    )


def _local_user() -> str:
    """The real uid's name: not getpass.getuser(), which believes $USER and $LOGNAME."""
    import pwd

    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no entry in the password database
        return f"uid {uid}"


def ssh_client(environ: Mapping[str, str] = os.environ) -> str | None:
    """The client's address from SSH_CONNECTION, by the one rule (`otp_tui.core.ssh_client`)."""
    from otp_tui.core.ssh_client import client_address

    return client_address(environ.get("SSH_CONNECTION"))


# Who a line names: (user, SSH client), from the run's own account of its caller, so that the
# trail and the send budgets read one value.
Who = Callable[[], tuple[str, "str | None"]]


class AuditLog:
    """Appends audit lines to one file; opened once so a failure shows before the flow starts."""

    def __init__(
        self,
        path: Path,
        clock: Callable[[], float] = time.time,
        *,
        user: str | None = None,
        syslog: SyslogSink | None = None,
        who: Who | None = None,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._user = user  # else looked up at the first line: pwd stays off the start-up path
        self._who = who
        self._client: str | None = None
        self._named = False
        self._syslog = syslog
        self._fd: int | None = None
        self._fd = self._open()
        if syslog is not None:
            syslog.connect()  # says so on stderr now, before a screen is drawn, if it cannot

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as error:
            raise AuditError(
                _("The audit log {path} cannot be opened: {reason}.").format(
                    path=self.path, reason=error.strerror or error
                ),
                self.path,
            ) from error

    def _follow_rotation(self, fd: int) -> int:
        """The open file if the path still names it; else the path opened afresh.

        Two stat calls per line: cheap next to the write, and the only way to notice that
        logrotate (or anyone) renamed the file away while this run was writing to it.
        """
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            current = None
        except OSError:
            return fd  # the write itself will say what is wrong
        opened = os.fstat(fd)
        if current is not None and (current.st_ino, current.st_dev) == (
            opened.st_ino,
            opened.st_dev,
        ):
            return fd
        fresh = self._open()
        self._fd = fresh
        os.close(fd)
        return fresh

    def record(self, event: AuditEvent, address: str, **fields: object) -> None:
        """Append one line; ValueError for an unknown event or a forbidden field name."""
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        for name in fields:
            if _forbidden(name):
                raise ValueError(f"the audit trail never records a field named {name!r}")
            if name in _RESERVED:
                raise ValueError(f"{name!r} is set by the audit log itself")
        if not self._named:  # once, at the first line: pwd stays off the start-up path
            if self._who is not None:
                self._user, self._client = self._who()
            else:
                self._user = self._user or _local_user()
                self._client = ssh_client()
            self._named = True
        line = {
            "ts": datetime.fromtimestamp(self._clock(), tz=UTC).isoformat(timespec="milliseconds"),
            "event": event,
            "address": address,
            "user": self._user,
            "pid": os.getpid(),
            "ssh_client": self._client,
            **fields,
        }
        # ensure_ascii: JSON leaves U+2028 and U+2029 raw otherwise, and some line readers
        # split on them; escaped, every record is exactly one line of ASCII.
        text = json.dumps(line, ensure_ascii=True, allow_nan=False)
        self._write((text + "\n").encode("ascii"))
        if self._syslog is not None:  # after the file: the file is the record that must hold
            self._syslog.send(event, text)

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            raise AuditError(_("The audit log {path} is closed.").format(path=self.path), self.path)
        fd = self._follow_rotation(self._fd)
        try:
            written = os.write(fd, data)
        except OSError as error:
            raise AuditError(
                _("The audit log {path} cannot be written: {reason}.").format(
                    path=self.path, reason=error.strerror or error
                ),
                self.path,
            ) from error
        if written != len(data):
            # Only a full disk or a file size limit cuts a regular-file write short; retrying
            # the rest could interleave with another process, so report it instead.
            raise AuditError(
                _("The audit log {path} took only part of a line (is the disk full?).").format(
                    path=self.path
                ),
                self.path,
            )

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        if self._syslog is not None:
            self._syslog.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
