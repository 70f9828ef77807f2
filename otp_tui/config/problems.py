"""One line per settings problem, naming where the bad value came from: `--set`, a variable
or the file. Both loaders use it (`loading` for the command line, `gate_settings` for the gate
and the PAM helper); it needs pydantic's errors only, not pydantic-settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from otp_tui.config.schema import Settings
from otp_tui.config.sources import ConfigFile, env_name
from otp_tui.language import _

if TYPE_CHECKING:
    from pydantic import ValidationError


def _where(
    loc: tuple[str, ...],
    overrides: Mapping[str, Any],
    environ: Mapping[str, str],
    config: ConfigFile,
) -> str:
    """Name the source that supplied the value at `loc`, highest precedence first."""
    node: Any = overrides
    for part in loc:
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]  # an item of a list given as JSON
        else:
            node = None
    if node is not None:
        return "--set"
    upper_env = {key.upper() for key in environ}
    for depth in range(len(loc), 0, -1):
        if env_name(loc[:depth]) in upper_env:
            return env_name(loc[:depth])
    return str(config.path.name if not config.explicit else config.path)


# Keys whose rule the whole model checks (see Settings' model validators); their messages
# start with the key.
_CHECKED_WHOLE = frozenset({"mail.templates"})


def describe(
    error: ValidationError,
    overrides: Mapping[str, Any],
    environ: Mapping[str, str],
    config: ConfigFile,
) -> list[str]:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        loc = tuple(str(part) for part in item["loc"])
        # pydantic's own words, in English whatever the language: pydantic has no catalogs.
        # Only the two messages otp-tui words itself are translated.
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            from otp_tui.config.suggestions import suggest_key

            guess = suggest_key(loc, Settings)
            # TRANSLATORS: after "source: section.key:", a key the settings do not have.
            message = _("unknown key")
            if guess is not None:
                # TRANSLATORS: after "source: section.key:", a key the settings do not have,
                # and the known key nearest to it ({key}, as written in a file).
                message = _("unknown key; did you mean {key}?").format(key=guess)
        elif item["type"] == "string_type":
            # TOML `password = 123456` is a number: read back as text it might not be what was
            # typed (1_000, 0x1F, 1e3), so it is refused, with the fix.
            message = _("must be text: put the value in quotes")
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if not loc:
            # A rule about one key, checked once the whole model is read (a template renders
            # with the policy's values), names that key first: blame its source, not the file.
            key, _sep, rest = message.partition(": ")
            if key in _CHECKED_WHOLE:
                where = _where(tuple(key.split(".")), overrides, environ, config)
                problems.append(f"{where}: {key}: {rest}")
                continue
            # A rule across sections: its message names the keys itself.
            problems.append(f"{config.path}: {message}")
            continue
        where = _where(loc, overrides, environ, config)
        problems.append(f"{where}: {'.'.join(loc)}: {message}")
    return problems
