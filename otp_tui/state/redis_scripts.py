"""The Redis ledger's Lua scripts: read once from the package's ``lua/`` folder, each made of the
shared head (``head.lua``) and its own body, and run by their SHA1 with their source as the
fallback.

Each script is the whole of one ledger operation, run atomically on the server, so that racing
hosts can never both pass a check: there is no read-then-write from the client.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any, Protocol


class ScriptConnection(Protocol):
    """What a script needs of a redis-py connection: commands out, their replies in."""

    def send_packed_command(self, command: list[bytes]) -> None: ...

    def read_response(self) -> Any: ...


@dataclass(frozen=True)
class ReplyErrors:
    """redis-py's exceptions for an error reply, handed in so that this module loads without
    redis-py: any (`reply`, its ResponseError), and NOSCRIPT (`no_script`)."""

    reply: type[Exception]
    no_script: type[Exception]


class Then(Protocol):
    """A command sent in the same write as a script: made at the moment it is sent (so that a
    timeout in it is what is left of the deadline then), and its answer checked when the
    script's own answer was NOSCRIPT, before the script is sent again with its source."""

    def command(self) -> Sequence[str | int]: ...

    def check(self, answer: Any) -> None: ...


def pack(command: Sequence[str | int]) -> bytes:
    """One command in Redis's protocol, packed by hiredis (a dependency; redis-py's own packer
    runs its encoder in Python over every argument, a tenth of a call's time here). hiredis
    takes the words as they are, text as UTF-8 and numbers in decimal."""
    import hiredis

    words: Any = tuple(command)  # hiredis's stubs declare a tuple of one word only
    packed: bytes = hiredis.pack_command(words)
    return packed


@functools.cache
def lua_source(name: str) -> str:
    """The text of ``lua/<name>.lua`` shipped with the package, read the first time only."""
    return (files("otp_tui.state") / "lua" / f"{name}.lua").read_text(encoding="utf-8")


class Script:
    """One Lua script: its source and SHA1."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    @classmethod
    def with_head(cls, body: str) -> Script:
        """A script whose body may use the shared head's `now`, `load`, `store`, `entry`..."""
        return cls(lua_source("head") + "\n" + body)

    def __call__(
        self,
        connection: ScriptConnection,
        keys: Sequence[str],
        args: Sequence[str],
        errors: ReplyErrors,
        then: Then | None = None,
    ) -> tuple[Any, Any]:
        """EVALSHA, and EVAL with the source once if the server lacks the script. A promoted
        replica has no script cached: that NOSCRIPT is answered here, once.

        `then`, a command sent with the script in the same write (WAIT, say), so that the two
        cost one round trip; the answers of both, the second None without one. A reply that is
        an error leaves the connection in step; any other failure (a timeout, a reset) makes
        redis-py close it, so a late reply is never read as the next command's.
        """
        try:
            return self._send(connection, ("EVALSHA", self.sha), keys, args, errors, then)
        except errors.no_script as refused:
            if then is not None:
                then.check(refused.args[-1])
            return self._send(connection, ("EVAL", self.source), keys, args, errors, then)

    @staticmethod
    def _send(
        connection: ScriptConnection,
        head: tuple[str, str],
        keys: Sequence[str],
        args: Sequence[str],
        errors: ReplyErrors,
        then: Then | None,
    ) -> tuple[Any, Any]:
        packed = pack((*head, len(keys), *keys, *args))
        if then is not None:
            # One bytes, one write: redis-py sends each item of a list with a write of its
            # own, and two writes cost a system call and a packet more, and may reach the
            # server apart.
            packed += pack(then.command())
        connection.send_packed_command([packed])
        try:
            answer = connection.read_response()
        except errors.reply as error:
            if then is not None:
                # The second command's reply is on its way: read it, to stay in step, and hand
                # it on with the error.
                error.args = (*error.args, connection.read_response())
            raise
        return answer, (connection.read_response() if then is not None else None)


@functools.cache
def script(name: str) -> Script:
    """The ledger's script `name` (``lua/<name>.lua`` after the head), made the first time."""
    return Script.with_head(lua_source(name))
