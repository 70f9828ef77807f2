"""What a Redis ledger's failure is called: one sentence naming the server's host:port, never
the user name or the password, in the language in use."""

from __future__ import annotations

from pathlib import Path

from otp_tui.core.untrusted import visible
from otp_tui.language import N_, _, ngettext
from otp_tui.state.errors import LedgerError, plural_count


class NotRedisError(Exception):
    """The server's answer is not one Redis gives (to the handshake, or to a script): another
    kind of server listens there, or something in between garbles the replies."""


class TooFewReplicasError(Exception):
    """Fewer replicas than `ledger_replicas` acknowledged a write within the deadline."""

    def __init__(self, acknowledged: int) -> None:
        super().__init__(acknowledged)
        self.acknowledged = acknowledged


class SentinelsRefusedPasswordError(Exception):
    """No sentinel named the primary, and at least one refused the password (a wrong one, or
    none where they ask for one): not a fault that waiting out, as a failover, would mend."""


# Errors a client library raises when it reads an answer of a shape it did not expect.
SHAPE_ERRORS = (AttributeError, TypeError, ValueError, KeyError, IndexError)


def failure(error: Exception, where: str, timeout: float, replicas: int = 0) -> LedgerError | None:
    """The one sentence for a failed call to the server at `where`, or None for an error that
    is not the server's (a bug, which must not pass for an unreachable server)."""
    from redis import exceptions
    from redis.sentinel import MasterNotFoundError

    if isinstance(error, TooFewReplicasError):
        message = ngettext(
            "The Redis ledger at {where}: {count} of the {needed} replicas it must wait for"
            " acknowledged the write within {seconds} second.",
            "The Redis ledger at {where}: {count} of the {needed} replicas it must wait for"
            " acknowledged the write within {seconds} seconds.",
            plural_count(timeout),
        ).format(where=where, count=error.acknowledged, needed=replicas, seconds=f"{timeout:g}")
    elif isinstance(error, SentinelsRefusedPasswordError):
        message = _(
            "The Redis sentinels at {where} refused the password"
            " (state.ledger_sentinel_password_file)."
        ).format(where=where)
    elif isinstance(error, MasterNotFoundError):
        message = _("No Redis sentinel at {where} names a primary that answers.").format(
            where=where
        )
    elif isinstance(error, (NotRedisError, exceptions.InvalidResponse)) or _garbled(error):
        message = _("The server at {where} does not answer as a Redis server does.").format(
            where=where
        )
    elif isinstance(error, exceptions.AuthenticationError):
        message = _("The Redis ledger at {where} refused the user name or password.").format(
            where=where
        )
    elif isinstance(error, exceptions.TimeoutError):
        message = timed_out(where, timeout)
    elif isinstance(error, exceptions.ConnectionError):
        message = unreachable(where, error)
    elif isinstance(error, exceptions.RedisError):
        if isinstance(error, exceptions.NoPermissionError) or _refused_command(error):
            # TRANSLATORS: "Many hosts" is the title of a README section (in English).
            message = _(
                "The Redis ledger at {where} refused a command: this user lacks a permission"
                ' (the README\'s "Many hosts" lists what it needs).'
            ).format(where=where)
        else:
            # TRANSLATORS: {reason} is a short reason of its own, or the server's
            # error code (such as WRONGTYPE).
            message = _("The Redis ledger at {where} answered an error: {reason}.").format(
                where=where, reason=_reason(error)
            )
    elif isinstance(error, OSError):  # ssl.SSLError among them
        message = unreachable(where, error)
    else:
        return None
    return LedgerError(message, Path(where))


def timed_out(where: str, timeout: float) -> str:
    return ngettext(
        "The Redis ledger at {where} did not answer within {count} second.",
        "The Redis ledger at {where} did not answer within {count} seconds.",
        plural_count(timeout),
    ).format(where=where, count=f"{timeout:g}")


def unreachable(where: str, error: BaseException) -> str:
    # TRANSLATORS: {reason} is a short reason of its own ("connection refused", ...).
    return _("The Redis ledger at {where} cannot be reached: {reason}.").format(
        where=where, reason=_reason(error)
    )


def _garbled(error: BaseException) -> bool:
    # redis-py's words for a reply it cannot parse, whatever class it raises them as.
    text = str(error).lower()
    return "protocol error" in text or "invalid resp" in text


def _refused_command(error: BaseException) -> bool:
    # An ACL refusal inside a script comes back as a plain script error.
    text = str(error).lower()
    return "noperm" in text or "can't run this command" in text


# What a client error's text holds -> the short reason said instead (translated when shown).
_REASONS = (
    ("connection refused", N_("connection refused")),
    ("timed out", N_("timed out")),
    ("name or service not known", N_("unknown host name")),
    ("temporary failure in name resolution", N_("unknown host name")),
    ("certificate verify failed", N_("its certificate is not trusted")),
    ("wrong version number", N_("it does not speak TLS there")),
    ("connection reset", N_("the connection was reset")),
    ("closed by server", N_("the server closed the connection")),
    ("noscript", N_("the script was refused")),
    ("oom", N_("the server is out of memory")),
    ("readonly", N_("the server is a read-only replica")),
    ("crossslot", N_("it is part of a Redis Cluster: name it with redis+cluster://")),
    # A Cluster client that gave up following MOVED and ASK (redis-py says "TTL exhausted").
    ("ttl exhausted", N_("its nodes kept sending the command on to one another")),
    ("moved", N_("it is part of a Redis Cluster: name it with redis+cluster://")),
)


def _reason(error: BaseException) -> str:
    """A short reason from a client error, without anything the server or URL put in it."""
    text = str(error)
    lowered = text.lower()
    for fragment, reason in _REASONS:
        if fragment in lowered:
            return _(reason)
    # Otherwise the first word of the server's answer (an error code such as WRONGTYPE).
    first = text.split(maxsplit=1)[0] if text.split() else type(error).__name__
    return visible(first[:40])
