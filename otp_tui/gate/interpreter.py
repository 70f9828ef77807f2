"""Refuse an interpreter that hands control to the user; keep only the environment the gate needs.

By the time this runs, Python has already obeyed its own variables: `PYTHONPATH` or
`PYTHONHOME` could have replaced otp-tui itself, and `LD_PRELOAD` the C library. The defences
that actually hold are outside (sudo's `env_reset`, the wrapper's `python -I`); this check is
the tripwire that turns a setup which lost them into a gate that refuses to run, rather than one
that quietly obeys the user.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from otp_tui.core.untrusted import visible
from otp_tui.language import _

# Python variables that cannot change what the code does or where it comes from. Every other
# PYTHON* variable is refused: PYTHONINSPECT (a prompt after exit), PYTHONSTARTUP, PYTHONPATH,
# PYTHONHOME, PYTHONUSERBASE, PYTHONPLATLIBDIR (where code is imported from),
# PYTHONPYCACHEPREFIX (where compiled code is read from), PYTHONWARNINGS (a category names a
# module to import), PYTHONBREAKPOINT (a callable to import), PYTHONDEBUG/PYTHONVERBOSE, and
# whatever later versions add.
_HARMLESS_PYTHON = frozenset(
    {"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONSAFEPATH", "PYTHONNOUSERSITE"}
)
# The dynamic loader's variables: they have already run code of the user's choice.
_LOADER = ("LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT")

# What the gate keeps of its environment: the terminal's kind, the language, where the
# connection came from (validated where it is used), and sudo's account of who called it.
# Everything else goes before the app starts: TEXTUAL_DRIVER, for one, names a class to import.
_KEPT = frozenset(
    {"TERM", "COLORTERM", "NO_COLOR", "SSH_CONNECTION"}
    | {"LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES"}
    | {"SUDO_USER", "SUDO_UID", "SUDO_GID", "SUDO_COMMAND"}
)
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def interpreter_problems(
    flags: Any = sys.flags, environ: Mapping[str, str] | None = None
) -> list[str]:
    """One line for each way the interpreter could hand control to the user; [] when none."""
    import os

    environ = os.environ if environ is None else environ
    problems = []
    if flags.inspect or flags.interactive:
        problems.append(
            _(
                "the interpreter was started interactively (-i or PYTHONINSPECT); "
                "the gate runs only under a plain interpreter"
            )
        )
    for name in sorted(environ):
        if (name.startswith("PYTHON") and name not in _HARMLESS_PYTHON) or name in _LOADER:
            # TRANSLATORS: {name} is an environment variable (PYTHONPATH, LD_PRELOAD, ...).
            refused = _(
                "{name} is set; the gate does not run with variables that change the "
                "interpreter (check that sudo resets the environment)"
            )
            problems.append(refused.format(name=visible(name)))
    return problems


def kept_environment(environ: Mapping[str, str], home: str) -> dict[str, str]:
    """The environment the gate runs with: the few variables it needs, a fixed PATH and HOME."""
    kept = {
        name: value
        for name, value in environ.items()
        if name in _KEPT or (name.startswith("LC_") and name[3:].isalpha() and name[3:].isupper())
    }
    kept["PATH"] = SAFE_PATH
    kept["HOME"] = home
    return kept
