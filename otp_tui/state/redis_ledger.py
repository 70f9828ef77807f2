"""The limits ledger in Redis: one truth for every host of a fleet.

`RedisLedger` implements `otp_tui.core.limits.LimitsLedger` with the same meaning as
`MemoryLedger` and `SqliteLedger` (the contract tests run all three). Each operation is one Lua
script run on the server (EVALSHA, falling back to EVAL once when the server has not cached it),
so racing hosts can never both pass a check: there is no read-then-write from the client. The
connection stays open from one operation to the next, and a script sends only the commands
that change something.

Layout. Every key one address's operation touches shares the hash tag ``{<address>}``; the
budgets shared across addresses (the whole ledger, each requesting identity) are keys of their
own, ``otp-tui:{budget:<name>}:sends``. On a single server (or Valkey) `reserve_send` checks and
records the address and its budgets in one script; a Redis Cluster would refuse that script
(its keys lie in several slots), so a Cluster is not supported.

    otp-tui:{<address>}:state   hash: w (wrong codes), c (consecutive failures),
                                u (locked until, seconds, or "inf"), t (the lock's guess token)
    otp-tui:{<address>}:sends   sorted set: one member per send, scored by its time

Time is the server's (`TIME` inside each script), never the host's, so a lock ends at the same
moment on every host and a host with a wrong clock cannot stretch or shrink a window. Tests may
hand in a clock instead; then the scripts take "now" from it.

Keys expire when they no longer matter: a send set an hour and a minute after its newest send; a
state hash whose counts are zero a minute after its lock ends (at once if it holds no lock); a
lock that only an operator lifts, or counts that still count, never.

Every call has a deadline: each socket operation gives up after `timeout` seconds and a call
makes at most a few (connect, TLS, AUTH, the script and one retry of it with its source), with
no automatic retries, which could apply a script twice. Every failure (unreachable, a refused
password or certificate, a timeout, an error from the server) is one `LedgerError` naming the
server's host and port, never the password; the ledger fails closed.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from otp_tui.core.limits import (
    FOREVER,
    GuessAdmitted,
    GuessLimits,
    GuessRefused,
    GuessVerdict,
    LedgerEntry,
    SendBudget,
)
from otp_tui.core.untrusted import visible
from otp_tui.language import N_, _, ngettext
from otp_tui.state.errors import LedgerError, plural_count

if TYPE_CHECKING:
    import redis

# A redis-py connection (redis.connection.Connection, or its TLS kind): its methods carry no
# type hints.
Connection = Any

PREFIX = "otp-tui:"
DEFAULT_TIMEOUT = 3.0

# -- the scripts ---------------------------------------------------------------------------------
# Shared head of every script: "now" from the test's clock (ARGV[1]) or the server's TIME, and
# numbers written with 17 digits, which read back as the very same double (Lua's own tostring
# keeps 14).
_HEAD = """
local HOUR = 3600
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function num(x)
  if x == math.huge then return 'inf' end
  return string.format('%.17g', x)
end
local function parse(x)
  if x == 'inf' then return math.huge end
  return tonumber(x)
end
local function load(key)
  local v = redis.call('HMGET', key, 'w', 'c', 'u', 't')
  local s = {w = tonumber(v[1] or '0'), c = tonumber(v[2] or '0'),
             u = parse(v[3] or '0'), t = v[4] or false}
  -- What the hash holds as it is, so that `store` sends only commands that change something.
  -- Every write sets w, c and u together, and only a hash whose counts are zero is ever given
  -- a time to live (`store` drops it whenever the counts are not zero).
  s.exists = v[1] ~= false
  s.had_t = v[4] ~= false
  s.may_expire = s.exists and s.w == 0 and s.c == 0
  return s
end
local function write(key, s)
  if s.t then
    redis.call('HSET', key, 'w', s.w, 'c', s.c, 'u', num(s.u), 't', s.t)
  else
    redis.call('HSET', key, 'w', s.w, 'c', s.c, 'u', num(s.u))
    if s.had_t then redis.call('HDEL', key, 't') end
  end
end
local function store(key, s)
  if s.w == 0 and s.c == 0 and s.u <= now then
    -- Nothing left that counts. A lock that ended is kept a minute (the clock may step back).
    if s.u > 0 then
      write(key, s)
      redis.call('EXPIRE', key, 60)
    elseif s.exists then
      redis.call('DEL', key)
    end
    return
  end
  write(key, s)
  if s.w == 0 and s.c == 0 and s.u - now < 1e9 then  -- beyond ~30 years: as good as forever
    redis.call('EXPIRE', key, math.ceil(s.u - now) + 60)
  elseif s.may_expire then
    redis.call('PERSIST', key)
  end
end
local function sends(key)
  return redis.call('ZCOUNT', key, '(' .. num(now - HOUR), '+inf')
end
local function entry(state_key, sends_key)
  local s = load(state_key)
  return {sends(sends_key), s.w, s.c, num(math.max(0, s.u - now))}
end
"""

_STATUS = _HEAD + "return entry(KEYS[1], KEYS[2])"

# KEYS: the address's sends, then each shared budget's. ARGV: now, a member name unique to this
# send, then each key's budget per hour in the same order.
_RESERVE_SEND = (
    _HEAD
    + """
local wait = 0
for i, key in ipairs(KEYS) do
  -- Sends an hour old no longer count; one stamped in the future (the clock went back) does.
  redis.call('ZREMRANGEBYSCORE', key, '-inf', num(now - HOUR))
  local per_hour = tonumber(ARGV[i + 2])
  local n = redis.call('ZCARD', key)
  if n >= per_hour then
    -- The send that must age out before another fits: the per_hour-th newest.
    local oldest = redis.call('ZRANGE', key, n - per_hour, n - per_hour, 'WITHSCORES')
    wait = math.max(wait, math.max(tonumber(oldest[2]) + HOUR - now, 1))
  end
end
if wait > 0 then return num(wait) end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, num(now), ARGV[2])
  redis.call('EXPIRE', key, HOUR + 60)
end
return '0'
"""
)

# KEYS: state. ARGV: now, max_attempts, lockout, max_consecutive_failures, token.
_ADMIT_GUESS = (
    _HEAD
    + """
local s = load(KEYS[1])
if s.u - now > 0 then return {'refused', 0, num(s.u - now)} end
s.w = s.w + 1
s.c = s.c + 1
local left = math.max(0, tonumber(ARGV[2]) - s.w)
local lock = false
if s.c >= tonumber(ARGV[4]) then
  lock = math.huge
elseif left == 0 then
  lock = parse(ARGV[3])
end
if lock then
  s.u = math.max(s.u, now + lock)
  s.w = 0
  s.t = ARGV[5]
  left = 0
end
store(KEYS[1], s)
if lock then return {'admitted', left, num(lock)} end
return {'admitted', left, ''}
"""
)

# KEYS: state, sends. The building blocks, for tests and scenes.
_RECORD_WRONG_CODE = (
    _HEAD
    + """
local s = load(KEYS[1])
s.w = s.w + 1
s.c = s.c + 1
store(KEYS[1], s)
return entry(KEYS[1], KEYS[2])
"""
)

# KEYS: state. ARGV: now, seconds.
_LOCK = (
    _HEAD
    + """
local s = load(KEYS[1])
s.u = math.max(s.u, now + parse(ARGV[2]))
s.w = 0
s.t = false
store(KEYS[1], s)
return 1
"""
)

# KEYS: state. ARGV: now, token ('' for none).
_RECORD_SUCCESS = (
    _HEAD
    + """
local s = load(KEYS[1])
s.w = 0
s.c = 0
if ARGV[2] ~= '' and s.t == ARGV[2] then
  s.u = 0
  s.t = false
end
store(KEYS[1], s)
return 1
"""
)

_UNLOCK = _HEAD + "redis.call('DEL', KEYS[1]) return 1"

_BUDGET_SENDS = _HEAD + "return sends(KEYS[1])"

# `otp-tui check`: proves scripts run, and says the server's time and version.
_PROBE = _HEAD + "return {num(now), redis.REDIS_VERSION or '?'}"


class _Script:
    """One Lua script: EVALSHA, and EVAL with its source once if the server lacks it."""

    def __init__(self, source: str) -> None:
        import hashlib

        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    def __call__(
        self,
        connection: Connection,
        keys: Sequence[str],
        args: Sequence[str],
        no_script: type[Exception],
    ) -> Any:
        # One command and its reply. A reply that is an error leaves the connection in step;
        # any other failure (a timeout, a reset) makes redis-py close it, so a late reply is
        # never read as the next command's.
        try:
            connection.send_command("EVALSHA", self.sha, len(keys), *keys, *args)
            return connection.read_response()
        except no_script:
            connection.send_command("EVAL", self.source, len(keys), *keys, *args)
            return connection.read_response()


_SCRIPTS = {
    name: _Script(source)
    for name, source in {
        "status": _STATUS,
        "reserve_send": _RESERVE_SEND,
        "admit_guess": _ADMIT_GUESS,
        "record_wrong_code": _RECORD_WRONG_CODE,
        "lock": _LOCK,
        "record_success": _RECORD_SUCCESS,
        "unlock": _UNLOCK,
        "budget_sends": _BUDGET_SENDS,
        "probe": _PROBE,
    }.items()
}


def is_redis_url(value: str) -> bool:
    return value.startswith(("redis://", "rediss://"))


def _num(value: float) -> str:
    return "inf" if value == FOREVER else repr(float(value))


def _float(value: bytes | str) -> float:
    text = value.decode() if isinstance(value, bytes) else value
    return math.inf if text == "inf" else float(text)


def _where(url: str) -> str | None:
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


class RedisLedger:
    """A `LimitsLedger` in Redis, shared by every host that names the same server."""

    def __init__(
        self,
        client: redis.Redis,
        where: str,
        clock: Callable[[], float] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        tls: bool = False,
    ) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import NoScriptError

        self._client = client
        self.where = where  # host:port, for messages
        self.timeout = timeout
        self.tls = tls
        # None in use: the server's TIME. Tests hand in a clock to move time by hand.
        self._clock = clock
        self._no_script = NoScriptError
        self._connection_error = RedisConnectionError
        self._forget_connections()

    def _forget_connections(self) -> None:
        # Connections kept open between calls: one, unless threads call at the same time. Each
        # is made by the client's pool (its address, TLS, password and timeouts), but not taken
        # from it per call: redis-py's checkout and its client's command wrapper cost about
        # 40 µs of CPU a call where the benchmark ran, twice the script's own time on the server.
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._idle: list[Connection] = []
        self._made: list[Connection] = []

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        password_file: Path | None = None,
        ca_file: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] | None = None,
    ) -> RedisLedger:
        """Connects lazily: the first operation (or `probe`) opens the connection."""
        where = _where(url)
        if where is None:
            # Nothing in it can be named: its host or port does not parse, and the rest may
            # hold the password.
            raise LedgerError(
                _("The Redis ledger URL in state.ledger cannot be read."), Path("state.ledger")
            )
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:  # pragma: no cover - redis is a dependency
            raise LedgerError(
                _(
                    "The ledger is on Redis at {where}, but the redis package is not installed."
                ).format(where=where),
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
            try:
                password = password_file.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as error:
                raise LedgerError(
                    _("The Redis ledger's password file {path} cannot be read: {reason}.").format(
                        path=password_file, reason=error.strerror
                    ),
                    password_file,
                ) from None
            options["password"] = password
        if url.startswith("rediss://"):
            options["ssl_cert_reqs"] = "required"
            options["ssl_check_hostname"] = True
            if ca_file is not None:
                options["ssl_ca_certs"] = str(ca_file)
        try:
            client = redis.Redis.from_url(url, **options)
        except ValueError:
            # The message may quote the URL, password and all: say only what is wrong.
            raise LedgerError(
                _("The Redis ledger URL for {where} cannot be read.").format(where=where),
                Path(where),
            ) from None
        return cls(client, where, clock, timeout=timeout, tls=url.startswith("rediss://"))

    # -- errors and calls ----------------------------------------------------------------------

    def _failure(self, error: Exception) -> LedgerError | None:
        """The one sentence for a failed call, or None for an error that is not the server's."""
        from redis import exceptions

        where = self.where
        if isinstance(error, exceptions.AuthenticationError):
            message = _("The Redis ledger at {where} refused the user name or password.").format(
                where=where
            )
        elif isinstance(error, exceptions.TimeoutError):
            message = ngettext(
                "The Redis ledger at {where} did not answer within {count} second.",
                "The Redis ledger at {where} did not answer within {count} seconds.",
                plural_count(self.timeout),
            ).format(where=where, count=f"{self.timeout:g}")
        elif isinstance(error, exceptions.ConnectionError):
            message = _unreachable(where, error)
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
            message = _unreachable(where, error)
        else:
            return None
        return LedgerError(message, Path(where))

    def _take(self) -> Connection:
        if self._pid != os.getpid():  # a forked child: the parent's sockets are not its own
            self._forget_connections()
        with self._lock:
            if self._idle:
                return self._idle.pop()
            connection = self._client.connection_pool.make_connection()
            self._made.append(connection)
            return connection

    def _ready(self, connection: Connection) -> None:
        connection.connect()  # at once if it is connected
        # A kept connection the server has closed (its idle timeout, a restart) or that holds
        # a reply nobody read is replaced by a fresh one: the check redis-py's pool makes at
        # each checkout, one poll of the socket.
        try:
            stale = connection.can_read()
        except (OSError, self._connection_error):
            stale = True
        if stale:
            connection.disconnect()
            connection.connect()

    def _run(self, script: str, keys: Sequence[str], args: Sequence[str] = ()) -> Any:
        now = "" if self._clock is None else repr(float(self._clock()))
        try:
            connection = self._take()
            try:
                self._ready(connection)
                return _SCRIPTS[script](connection, keys, [now, *args], self._no_script)
            finally:
                with self._lock:
                    self._idle.append(connection)
        except Exception as error:
            failure = self._failure(error)
            if failure is None:
                raise
            raise failure from None

    @staticmethod
    def _keys(address: str) -> tuple[str, str]:
        tag = f"{PREFIX}{{{address}}}"
        return f"{tag}:state", f"{tag}:sends"

    @staticmethod
    def _budget_key(name: str) -> str:
        return f"{PREFIX}{{budget:{name}}}:sends"

    @staticmethod
    def _entry(answer: Sequence[Any]) -> LedgerEntry:
        sends, wrong, consecutive, locked_for = answer
        return LedgerEntry(int(sends), int(wrong), int(consecutive), _float(locked_for))

    # -- LimitsLedger --------------------------------------------------------------------------

    def status(self, address: str) -> LedgerEntry:
        return self._entry(self._run("status", self._keys(address)))

    def reserve_send(self, address: str, budget: SendBudget) -> float:
        windows = budget.windows()
        keys = [self._keys(address)[1], *(self._budget_key(name) for name, _ in windows)]
        limits = [str(budget.per_address), *(str(per_hour) for _, per_hour in windows)]
        member = secrets.token_hex(8)
        return _float(self._run("reserve_send", keys, [member, *limits]))

    def budget_sends(self, name: str) -> int:
        """Sends in the last hour counted against the shared budget `name`."""
        return int(self._run("budget_sends", [self._budget_key(name)]))

    def admit_guess(self, address: str, limits: GuessLimits, token: str) -> GuessVerdict:
        kind, left, lock = self._run(
            "admit_guess",
            self._keys(address)[:1],
            [
                str(limits.max_attempts),
                _num(limits.lockout),
                str(limits.max_consecutive_failures),
                token,
            ],
        )
        if kind == b"refused":
            return GuessRefused(_float(lock))
        return GuessAdmitted(int(left), _float(lock) if lock else None)

    def record_wrong_code(self, address: str) -> LedgerEntry:
        """A building block of `admit_guess`, for tests that set a scene."""
        return self._entry(self._run("record_wrong_code", self._keys(address)))

    def lock(self, address: str, seconds: float) -> None:
        """A building block of `admit_guess`, for tests that set a scene."""
        self._run("lock", self._keys(address)[:1], [_num(seconds)])

    def record_success(self, address: str, token: str | None = None) -> None:
        self._run("record_success", self._keys(address)[:1], [token or ""])

    def unlock(self, address: str) -> None:
        self._run("unlock", self._keys(address)[:1])

    # -- the operator's check ------------------------------------------------------------------

    def probe(self) -> str:
        """Connect, authenticate and run a harmless script; a line saying what answered."""
        server_time, version = self._run("probe", [])
        version_text = visible(version.decode() if isinstance(version, bytes) else str(version))
        values = {"version": version_text, "where": self.where, "time": f"{float(server_time):.0f}"}
        # The server's time comes last, as a number: a test reads it from there.
        if self.tls:
            # TRANSLATORS: `otp-tui check`: {time} is the server's clock in Unix seconds; keep
            # it at the end of the line.
            return _("Redis {version} at {where} over TLS: scripts run, server time {time}").format(
                **values
            )
        # TRANSLATORS: `otp-tui check`: {time} is the server's clock in Unix seconds; keep it
        # at the end of the line.
        return _("Redis {version} at {where}: scripts run, server time {time}").format(**values)

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        # Without the lock: a call stuck on a silent server ends now, with a LedgerError. A
        # connection used again afterwards reconnects.
        for connection in list(self._made):
            connection.disconnect()
        self._client.close()

    def __enter__(self) -> RedisLedger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _refused_command(error: BaseException) -> bool:
    # An ACL refusal inside a script comes back as a plain script error.
    text = str(error).lower()
    return "noperm" in text or "can't run this command" in text


def _unreachable(where: str, error: BaseException) -> str:
    # TRANSLATORS: {reason} is a short reason of its own ("connection refused", ...).
    return _("The Redis ledger at {where} cannot be reached: {reason}.").format(
        where=where, reason=_reason(error)
    )


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
    ("crossslot", N_("the keys lie in several slots (a Redis Cluster is not supported)")),
    ("moved", N_("the server is part of a Redis Cluster, which is not supported")),
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
