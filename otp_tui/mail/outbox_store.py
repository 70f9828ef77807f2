"""The demo outbox on disk: a Maildir that keeps the newest few mails and finds the newest at once.

Each mail is written to ``tmp/`` and renamed into ``new/`` (so a reader never sees half a mail),
under a name that starts with its arrival time in nanoseconds, zero-padded: names sort in the
order mail arrived. A small file ``newest`` beside the folders names the latest mail, so opening
the viewer reads one name and one mail whatever else the folder holds (it scanned and read every
mail once: 912 ms with 100,000 of them). Only the newest `KEEP` are kept; older ones are removed
after each delivery, off the event loop.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

KEEP = 50
_POINTER = "newest"
_OURS = re.compile(r"(\d{20})\.[0-9a-f]+\.otp-tui")
_SUBDIRS = ("new", "cur")


@dataclass(frozen=True)
class StoredMail:
    name: str
    arrived: datetime
    raw: bytes


def _arrival_ns(name: str) -> int | None:
    match = _OURS.match(name)
    return int(match.group(1)) if match else None


class OutboxStore:
    def __init__(self, directory: Path, *, keep: int = KEEP) -> None:
        self.directory = directory
        self.keep = keep

    def ensure(self) -> None:
        # Owner-only: the outbox holds live codes.
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        for sub in ("", "tmp", "new", "cur"):
            (self.directory / sub).mkdir(mode=0o700, exist_ok=True)

    def add(self, raw: bytes, *, now_ns: int | None = None) -> str:
        """File `raw` as the newest mail; returns its name."""
        arrived = now_ns if now_ns is not None else time.time_ns()
        name = f"{arrived:020d}.{secrets.token_hex(6)}.otp-tui"
        staged = self.directory / "tmp" / name
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(raw)
        os.replace(staged, self.directory / "new" / name)
        self._point_to(name)
        return name

    def _point_to(self, name: str) -> None:
        staged = self.directory / "tmp" / f"{_POINTER}.{secrets.token_hex(6)}"
        staged.write_text(name + "\n", encoding="ascii")
        os.replace(staged, self.directory / _POINTER)

    def read(self, name: str) -> StoredMail | None:
        """The mail called `name`, in new/ or (seen by a mail client, maybe renamed) cur/."""
        if "/" in name or name.startswith("."):
            return None
        for sub in _SUBDIRS:
            path = self.directory / sub / name
            try:
                raw = path.read_bytes()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                continue
            return StoredMail(name, self._arrived(name, path), raw)
        return None

    def _arrived(self, name: str, path: Path) -> datetime:
        ns = _arrival_ns(name)
        if ns is None:
            try:
                ns = path.stat().st_mtime_ns
            except OSError:
                ns = 0
        return datetime.fromtimestamp(ns / 1e9, tz=UTC)

    def newest(self) -> StoredMail | None:
        """The latest mail: by the pointer, else (no pointer, or it is stale) by name."""
        try:
            name = (self.directory / _POINTER).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            name = ""
        if name:
            mail = self.read(name)
            if mail is not None:
                return mail
        for name in reversed(self._by_age()):
            mail = self.read(name)
            if mail is not None:
                return mail
        return None

    def _by_age(self) -> list[str]:
        """Every mail's name, oldest first: by the time in our names, by mtime for others."""
        keyed: list[tuple[int, str]] = []
        for sub in _SUBDIRS:
            try:
                entries = list(os.scandir(self.directory / sub))
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                ns = _arrival_ns(entry.name)
                if ns is None:
                    try:
                        ns = entry.stat().st_mtime_ns
                    except OSError:
                        continue
                keyed.append((ns, entry.name))
        keyed.sort()
        return [name for _, name in keyed]

    def prune(self) -> int:
        """Remove all but the newest `keep` mails; returns how many went. Blocking."""
        names = self._by_age()
        removed = 0
        for name in names[: max(0, len(names) - self.keep)]:
            for sub in _SUBDIRS:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.directory / sub / name)
                    removed += 1
                    break
        return removed
