"""A redis-py client from the ledger's settings: the URL, a password file, a CA, the deadline.

Everything said about a URL names its host:port only: the rest may hold the password.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from otp_tui.core.untrusted import visible
from otp_tui.language import _
from otp_tui.state.errors import LedgerError

if TYPE_CHECKING:
    import redis


def where_of(url: str) -> str | None:
    """host:port of a Redis URL, for messages: never the user or the password.

    None when the URL has no host and port to name (a port that is not a number, say).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = parts.port or 6379
    except ValueError:
        return None
    host = f"[{host}]" if ":" in host else host
    return visible(f"{host}:{port}")


def client_from_url(
    url: str,
    where: str,
    *,
    password_file: Path | None,
    ca_file: Path | None,
    timeout: float,
) -> redis.Redis:
    """The client for `url` (the server at `where`); it connects only when first used."""
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:  # pragma: no cover - redis is a dependency
        raise LedgerError(
            _("The ledger is on Redis at {where}, but the redis package is not installed.").format(
                where=where
            ),
            Path(where),
        ) from None
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        # No retries: a script retried after a timeout might run twice.
        "retry": Retry(NoBackoff(), 0),
        "retry_on_timeout": False,
        "health_check_interval": 0,
    }
    if password_file is not None:
        if urlsplit(url).password is not None:
            raise LedgerError(
                _(
                    "The Redis ledger at {where} has a password in its URL and a"
                    " ledger_password_file; set one or the other."
                ).format(where=where),
                Path(where),
            )
        options["password"] = read_password(password_file)
    if url.startswith("rediss://"):
        options["ssl_cert_reqs"] = "required"
        options["ssl_check_hostname"] = True
        if ca_file is not None:
            options["ssl_ca_certs"] = str(ca_file)
    try:
        return redis.Redis.from_url(url, **options)
    except ValueError:
        # The message may quote the URL, password and all: say only what is wrong.
        raise LedgerError(
            _("The Redis ledger URL for {where} cannot be read.").format(where=where),
            Path(where),
        ) from None


def read_password(password_file: Path) -> str:
    try:
        return password_file.read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as error:
        raise LedgerError(
            _("The Redis ledger's password file {path} cannot be read: {reason}.").format(
                path=password_file, reason=error.strerror
            ),
            password_file,
        ) from None
