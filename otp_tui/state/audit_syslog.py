"""Audit lines to the local syslog daemon, beside the JSON file.

Why not the standard `syslog` module: it always writes to /dev/log and prints nothing when that
fails; this sink can be pointed at another socket (a test's own rsyslogd) and says, once, when
the daemon is not there. The datagram is what glibc's syslog(3) sends, without its trailing
NUL: `<PRI>Mmm dd hh:mm:ss otp-tui[PID]: {json}`, the same JSON object as the file's line.

Syslog is a copy for the operator's collectors, so its failures never stop a run: the first one
is reported on stderr (after the screen is gone if the run is under way, so the line does not
land in the middle of it) and the sink goes quiet. The file stays the record that fails closed.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

IDENT = "otp-tui"

FACILITIES = {
    "user": 1,
    "daemon": 3,
    "auth": 4,
    "authpriv": 10,
    **{f"local{n}": 16 + n for n in range(8)},
}
# RFC 5424 severities.
WARNING, NOTICE, INFO = 4, 5, 6
SEVERITY_BY_EVENT = {
    "send_requested": INFO,
    "sent": INFO,
    "send_failed": WARNING,
    "wrong_code": WARNING,
    "verified": NOTICE,
    "locked": WARNING,
    "cancelled": NOTICE,
    "interrupted": WARNING,
    "allowed_without_mail": WARNING,
}
# The C locale's month names, as syslog(3) writes them whatever the user's language.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _stderr_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def frame(
    facility: str, event: str, text: str, *, now: float | None = None, pid: int | None = None
) -> bytes:
    """One datagram: priority, local time stamp, ident and pid, the JSON text. No NUL."""
    priority = FACILITIES[facility] * 8 + SEVERITY_BY_EVENT.get(event, NOTICE)
    stamp = time.localtime(time.time() if now is None else now)
    when = f"{_MONTHS[stamp.tm_mon - 1]} {stamp.tm_mday:2d} {time.strftime('%H:%M:%S', stamp)}"
    header = f"<{priority}>{when} {IDENT}[{os.getpid() if pid is None else pid}]: "
    return (header + text).encode("ascii")


class SyslogSink:
    def __init__(
        self,
        facility: str,
        socket_path: Path,
        warn: Callable[[str], None] = _stderr_line,
    ) -> None:
        self.facility = facility
        self.socket_path = Path(socket_path)
        self._warn = warn
        self._socket: socket.socket | None = None
        self._gone = False  # a failure was seen: quiet from then on
        self._pending: str | None = None  # a warning held until the screen is gone

    def connect(self) -> None:
        """Connect now; if that fails, say so at once (no screen is up yet) and go quiet."""
        reason = self._try_connect()
        if reason is not None:
            self._gone = True
            self._warn(self._warning(reason))

    def _try_connect(self) -> str | None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setblocking(False)  # a stalled daemon must never stall the run
        try:
            sock.connect(str(self.socket_path))
        except OSError as error:
            sock.close()
            return error.strerror or str(error)
        self._socket = sock
        return None

    def _warning(self, reason: str) -> str:
        from otp_tui.language import _

        return _(
            "otp-tui: syslog at {socket} is not taking audit lines ({reason}); "
            "they go to the audit file only"
        ).format(socket=self.socket_path, reason=reason)

    def send(self, event: str, text: str) -> None:
        if self._gone:
            return
        reason = self._send(frame(self.facility, event, text))
        if reason is not None:
            self._gone = True
            self._pending = self._warning(reason)

    def _send(self, data: bytes) -> str | None:
        """None once sent; else why not, after one reconnection if the daemon may be new."""
        reason = "not connected"
        for _attempt in range(2):
            if self._socket is None:
                failed = self._try_connect()
                if failed is not None:
                    return failed
            assert self._socket is not None
            try:
                self._socket.send(data)
                return None
            except OSError as error:
                reason = error.strerror or str(error)
                self._socket.close()
                self._socket = None
                # A full queue will not empty in time for this line: drop it rather than wait.
                # Anything else may be a restarted daemon with a new socket: reconnect once.
                if error.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return reason
        return reason

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        pending, self._pending = self._pending, None
        if pending is not None:
            self._warn(pending)
