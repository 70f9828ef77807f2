"""Secrets in the settings: never on the command line, and warned about in files others can
read (as ssh warns about keys). A key names a secret by its name, or holds one as the password
part of a URL.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from otp_tui.config.schema import Settings
from otp_tui.config.sources import ConfigFile, env_name, shown
from otp_tui.language import _

# A key names a secret if its name holds one of these; `password_file` and the like name the
# file that holds one, which is the recommended route and no secret itself.
_SECRET_WORDS = ("password", "passwd", "passphrase", "secret", "token", "credential", "api_key")
_NOT_A_SECRET_SUFFIXES = ("_file", "_path", "_dir")
# scheme://user:password@host, whatever the key (a Redis ledger URL, say): the password part.
_URL_WITH_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@\"']*:[^\s/?#@\"']*@")


def is_secret_key(key: str) -> bool:
    """Whether a configuration key (its last part) holds a secret value."""
    name = key.lower()
    return any(word in name for word in _SECRET_WORDS) and not name.endswith(_NOT_A_SECRET_SUFFIXES)


def holds_url_password(value: object) -> bool:
    return isinstance(value, str) and _URL_WITH_PASSWORD.search(value) is not None


def secret_on_command_line(section: str, key: str, text: str) -> str | None:
    """Why `--set section.key=text` is refused, or None. `/proc/PID/cmdline` (what `ps`
    shows) can be read by every user of the machine, for as long as otp-tui runs."""
    variable = env_name((section, key))
    secret = is_secret_key(key)
    if not secret and not holds_url_password(text):
        return None
    file_key = f"{section}.{key}_file"
    if _has_key(section, f"{key}_file"):
        if secret:
            # TRANSLATORS: {variable} is an environment variable, {file_key} a configuration
            # key; "ps" is the program that shows command lines.
            sentence = _(
                "a secret on the command line can be read by every user of this machine (ps); "
                "set {variable} in the environment, or {file_key}"
            )
        else:
            sentence = _(
                "a URL with a password on the command line can be read by every user of this "
                "machine (ps); set {variable} in the environment, or {file_key}"
            )
    elif secret:
        sentence = _(
            "a secret on the command line can be read by every user of this machine (ps); "
            "set {variable} in the environment, or put it in the configuration file"
        )
    else:
        sentence = _(
            "a URL with a password on the command line can be read by every user of this "
            "machine (ps); set {variable} in the environment, or put it in the configuration file"
        )
    return sentence.format(variable=variable, file_key=file_key)


def _has_key(section: str, key: str) -> bool:
    field = Settings.model_fields.get(section)
    model = field.annotation if field is not None else None
    return isinstance(model, type) and issubclass(model, BaseModel) and key in model.model_fields


def _readable_by_others(path: Path) -> int | None:
    """The file's mode if group or others may read it, else None (also when it is absent)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & (stat.S_IRGRP | stat.S_IROTH) else None


def _secrets_in(document: Mapping[str, Any]) -> list[str]:
    """The dotted keys of `document` that hold a secret (by name, or a URL with a password)."""
    found = []
    pending: list[tuple[str, Any]] = [(key, value) for key, value in document.items()]
    while pending:  # no recursion: the document's depth is the file's to choose
        key, value = pending.pop()
        if isinstance(value, Mapping):
            pending.extend((f"{key}.{name}", inner) for name, inner in value.items())
        elif value not in (None, "") and (
            is_secret_key(key.rpartition(".")[2]) or holds_url_password(value)
        ):
            found.append(key)
    return sorted(found)


def _secret_files(settings: Settings) -> list[tuple[str, Path]]:
    """Every `*password_file`-like key that is set: the files that hold secrets."""
    files = []
    for section, model in settings:
        if not isinstance(model, BaseModel):
            continue
        for key in type(model).model_fields:
            value = getattr(model, key)
            words_only = key.lower().removesuffix("_file")
            if key.endswith("_file") and is_secret_key(words_only) and isinstance(value, Path):
                files.append((f"{section}.{key}", value))
    return files


def exposure_warnings(
    config: ConfigFile, document: Mapping[str, Any], settings: Settings
) -> list[str]:
    """One warning line per secret that others on this machine may read, as ssh does for keys.

    A warning, not a refusal: on a single-user machine a 0644 file is no leak, and refusing
    would stop runs that worked. `otp-tui gate`, which runs for other users, refuses instead.
    """
    lines = []
    held = _secrets_in(document)
    mode = _readable_by_others(config.path) if held else None
    if mode is not None:
        # TRANSLATORS: {keys} lists configuration keys ("smtp.password, state.ledger");
        # {mode} is like 0644; "chmod go-rwx" is a command, keep it as it is.
        warning = _(
            "{path}: warning: holds {keys} and can be read by group or others (mode {mode}); "
            "chmod go-rwx it, or move the secret to the environment or a password file"
        )
        lines.append(warning.format(path=config.path, keys=", ".join(held), mode=f"{mode:04o}"))
    for key, path in _secret_files(settings):
        mode = _readable_by_others(path)
        if mode is not None:
            # TRANSLATORS: {key} is a configuration key such as smtp.password_file.
            warning = _(
                "{path}: warning: {key} can be read by group or others (mode {mode}); "
                "chmod go-rwx it"
            )
            lines.append(warning.format(path=path, key=key, mode=f"{mode:04o}"))
    return shown(lines)
