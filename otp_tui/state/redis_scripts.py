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
from importlib.resources import files
from typing import Any, Protocol


class ScriptConnection(Protocol):
    """What a script needs of a redis-py connection: one command out, its reply in."""

    def send_command(self, *args: str | int) -> None: ...

    def read_response(self) -> Any: ...


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
        no_script: type[Exception],
    ) -> Any:
        """EVALSHA, and EVAL with the source once if the server lacks the script (`no_script`
        is redis-py's NoScriptError, handed in so that this module loads without redis-py).

        One command and its reply. A reply that is an error leaves the connection in step; any
        other failure (a timeout, a reset) makes redis-py close it, so a late reply is never
        read as the next command's.
        """
        try:
            connection.send_command("EVALSHA", self.sha, len(keys), *keys, *args)
            return connection.read_response()
        except no_script:
            connection.send_command("EVAL", self.source, len(keys), *keys, *args)
            return connection.read_response()


@functools.cache
def script(name: str) -> Script:
    """The ledger's script `name` (``lua/<name>.lua`` after the head), made the first time."""
    return Script.with_head(lua_source(name))
