"""The audit trail: one JSON object per line for every step of a verification.

Each line carries an ISO-8601 UTC timestamp, the event, the address, the local user, the
process id and, over SSH, the client's address; callers add a few fields of their own (the
failure kind, attempts left). Never the code and never a password: field names that look like
either are refused outright, so a careless caller fails in tests rather than in the log.

Concurrent processes append to one file. Each line goes out in a single ``write`` to a
descriptor opened with ``O_APPEND``, which local filesystems apply atomically, so lines never
interleave. (NFS does not promise this; keep the log on a local disk.)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal, get_args

from otp_tui.state.errors import AuditError

if TYPE_CHECKING:
    from otp_tui.config.schema import Settings

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
]
EVENTS: frozenset[str] = frozenset(get_args(AuditEvent))

# The keys every line has; a caller's field may not replace one.
_RESERVED = frozenset({"ts", "event", "address", "user", "pid", "ssh_client"})


def default_audit_path() -> Path:
    # Imported here so that processes which only write the trail do not load pydantic.
    from otp_tui.config.paths import user_state_dir

    return user_state_dir() / AUDIT_FILENAME


def open_audit_log(settings: Settings, clock: Callable[[], float] = time.time) -> AuditLog:
    """The trail named by ``[state] audit_log``, or the default one in the user state dir."""
    return AuditLog(settings.state.audit_log or default_audit_path(), clock=clock)


def _forbidden(name: str) -> bool:
    # "code" exactly (an SMTP reply code may still be called smtp_code); anything that mentions
    # a password or secret in any form.
    lowered = name.lower()
    return lowered in {"code", "otp"} or any(
        word in lowered for word in ("password", "passwd", "secret")
    )


def _local_user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # OSError on 3.13, KeyError before: a uid with no name and no $USER
        return f"uid {os.getuid()}"


class AuditLog:
    """Appends audit lines to one file; opened once so a failure shows before the flow starts."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._user: str | None = None  # looked up at the first line: getpass loads pwd
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._fd: int | None = os.open(
                self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
            )
        except OSError as error:
            raise AuditError(
                f"The audit log {self.path} cannot be opened: {error.strerror or error}.",
                self.path,
            ) from error

    def record(self, event: AuditEvent, address: str, **fields: object) -> None:
        """Append one line; ValueError for an unknown event or a forbidden field name."""
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}")
        for name in fields:
            if _forbidden(name):
                raise ValueError(f"the audit trail never records a field named {name!r}")
            if name in _RESERVED:
                raise ValueError(f"{name!r} is set by the audit log itself")
        ssh = os.environ.get("SSH_CONNECTION", "").split()
        if self._user is None:
            self._user = _local_user()
        line = {
            "ts": datetime.fromtimestamp(self._clock(), tz=timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "event": event,
            "address": address,
            "user": self._user,
            "pid": os.getpid(),
            "ssh_client": ssh[0] if ssh else None,
            **fields,
        }
        # ensure_ascii: JSON leaves U+2028 and U+2029 raw otherwise, and some line readers
        # split on them; escaped, every record is exactly one line of ASCII.
        data = (json.dumps(line, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")
        self._write(data)

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            raise AuditError(f"The audit log {self.path} is closed.", self.path)
        try:
            written = os.write(self._fd, data)
        except OSError as error:
            raise AuditError(
                f"The audit log {self.path} cannot be written: {error.strerror or error}.",
                self.path,
            ) from error
        if written != len(data):
            # Only a full disk or a file size limit cuts a regular-file write short; retrying
            # the rest could interleave with another process, so report it instead.
            raise AuditError(
                f"The audit log {self.path} took only part of a line (is the disk full?).",
                self.path,
            )

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
