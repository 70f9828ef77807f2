"""The user's address, from the system and never from the user.

Two sources, both the operator's: `[gate] addresses_file` (lines `user address`, `#` starting
a comment) and `[gate] address_command` (an argv run without a shell, `%u` the user name, the
first line of its output the address, as sshd's AuthorizedKeysCommand). The file is read first;
the command answers for users the file does not list.

A user with no address is `NoAddress` (exit 1). A source that cannot be trusted to answer (a
malformed or unreadable file, a command that fails, hangs or prints junk) is `GateRefusal`
(exit 2): the gate stays shut and the line tells the operator what to fix. Nothing from the
file or the command is echoed: a line is named by its number, a command by what went wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from otp_tui.config.schema import DEFAULT_ADDRESSES_FILE, GateSettings
from otp_tui.gate.refusal import GateRefusal, NoAddress
from otp_tui.gate.trust import shown
from otp_tui.language import _, ngettext

# POSIX portable user names, plus the trailing "$" Samba machine accounts use.
_USER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}\$?")
COMMAND_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
_COMMAND_ENV = {"PATH": COMMAND_PATH, "LANG": "C.UTF-8"}


@dataclass(frozen=True)
class FoundAddress:
    address: str  # normalised
    source: str  # "addresses_file" or "address_command", for the audit trail


def _valid_address(text: str) -> str | None:
    from otp_tui.core.address import normalise_address

    try:
        return normalise_address(text)
    except ValueError:  # EmailNotValidError is one
        return None


# --- the file -----------------------------------------------------------------------------


def _entries(path: Path) -> dict[str, tuple[int, str]]:
    """Every `user address` line: user -> (line number, address). GateRefusal if any is bad.

    One bad line stops the gate for everyone: a file that is wrong in one place may be wrong
    about this user too, and the operator hears of it at once.
    """
    try:
        raw = path.read_bytes()
    except OSError as error:
        # TRANSLATORS: addresses_file is a configuration key; {reason} is the system's.
        raise GateRefusal(
            _("addresses_file {path}: cannot read: {reason}").format(
                path=shown(path), reason=error.strerror
            )
        ) from None
    entries: dict[str, tuple[int, str]] = {}
    for number, line in enumerate(raw.split(b"\n"), start=1):
        where = {"path": shown(path), "line": number}
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise GateRefusal(
                _("addresses_file {path} line {line}: not UTF-8 text").format(**where)
            ) from None
        if any(
            (ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F for char in text.rstrip("\r")
        ):
            raise GateRefusal(
                _("addresses_file {path} line {line}: holds a control character").format(**where)
            )
        fields = text.split()
        for index, field in enumerate(fields):
            if field.startswith("#"):  # "#" starts a comment only at the start of a field
                fields = fields[:index]
                break
        if not fields:
            continue
        if len(fields) != 2:
            count = len(fields)
            # TRANSLATORS: 'USER ADDRESS' is the form of a line; keep it as it is. (The English
            # says "fields" for one too, as it always has: scripts and tests match it.)
            found = ngettext(
                "addresses_file {path} line {line}: expected 'USER ADDRESS', found {count} fields",
                "addresses_file {path} line {line}: expected 'USER ADDRESS', found {count} fields",
                count,
            )
            raise GateRefusal(found.format(count=count, **where))
        user, address = fields
        if not _USER_NAME.fullmatch(user):
            raise GateRefusal(
                _("addresses_file {path} line {line}: the first field is not a user name").format(
                    **where
                )
            )
        if user in entries:
            again = _(
                "addresses_file {path} line {line}: {user} is listed again (first on line {first})"
            )
            raise GateRefusal(again.format(user=user, first=entries[user][0], **where))
        entries[user] = (number, address)
    return entries


def address_from_file(path: Path, user: str) -> FoundAddress | None:
    entries = _entries(path)
    if user not in entries:
        return None
    number, raw = entries[user]
    address = _valid_address(raw)
    if address is None:
        raise GateRefusal(
            _("addresses_file {path} line {line}: not a valid email address").format(
                path=shown(path), line=number
            )
        )
    return FoundAddress(address, "addresses_file")


# --- the command --------------------------------------------------------------------------


def command_argv(template: tuple[str, ...], user: str) -> list[str]:
    """The argv with `%u` as the user name and `%%` as a percent sign (validated in config)."""
    return [
        re.sub(r"%[u%]", lambda m: user if m.group() == "%u" else "%", item) for item in template
    ]


def address_from_command(
    template: tuple[str, ...], user: str, timeout: float
) -> FoundAddress | None:
    from otp_tui.operator_command import OUTPUT_LIMIT, run_command

    argv = command_argv(template, user)
    program = shown(Path(argv[0]))
    seconds = f"{timeout:g}"
    # Not shown: its stderr is not the operator's words to the user.
    result = run_command(argv, timeout=timeout, env=_COMMAND_ENV)
    if result.ending == "not started":
        # TRANSLATORS: address_command is a configuration key; {program} its program; {reason}
        # the system's.
        raise GateRefusal(
            _("address_command {program} cannot be run: {reason}").format(
                program=program, reason=result.reason
            )
        )
    if result.ending == "silent":
        # TRANSLATORS: "s" is the unit of {seconds}.
        silent = _(
            "address_command {program} did not answer within {seconds} s; the gate stays shut"
        )
        raise GateRefusal(silent.format(program=program, seconds=seconds))
    if result.ending == "too much":
        raise GateRefusal(
            _("address_command {program} printed more than {size} KiB; not an address").format(
                program=program, size=OUTPUT_LIMIT // 1024
            )
        )
    if result.ending == "unfinished":
        slow = _("address_command {program} did not finish within {seconds} s; the gate stays shut")
        raise GateRefusal(slow.format(program=program, seconds=seconds))
    status = result.status or 0
    if status < 0:
        killed = _("address_command {program} was killed by signal {signal}; the gate stays shut")
        raise GateRefusal(killed.format(program=program, signal=-status))
    if status != 0:
        failed = _("address_command {program} exited with status {status}; the gate stays shut")
        raise GateRefusal(failed.format(program=program, status=status))
    try:
        first = result.first_line.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise GateRefusal(
            _("address_command {program} printed something that is not UTF-8 text").format(
                program=program
            )
        ) from None
    if not first:
        return None  # it ran and knows no address for this user
    address = _valid_address(first)
    if address is None:
        raise GateRefusal(
            _("address_command {program} printed something that is not an email address").format(
                program=program
            )
        )
    return FoundAddress(address, "address_command")


# --- both ---------------------------------------------------------------------------------


def lookup_address(gate: GateSettings, user: str) -> FoundAddress:
    """The address for `user`; NoAddress or GateRefusal as described above."""
    path = gate.addresses_file or DEFAULT_ADDRESSES_FILE
    # The default file may be absent when a command is configured; a file one named may not.
    optional = gate.addresses_file is None and gate.address_command is not None
    if not (optional and not path.exists()):
        found = address_from_file(path, user)
        if found is not None:
            return found
    if gate.address_command is not None:
        found = address_from_command(gate.address_command, user, gate.address_command_timeout)
        if found is not None:
            return found
    raise NoAddress(_("no email address on file for {user}; the gate stays shut").format(user=user))
