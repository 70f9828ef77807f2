"""`otp-tui completion bash|zsh|fish`: a completion script built from the argument parser.

shtab writes the scripts: one library for the three shells, static scripts that never start
Python at a TAB (argcomplete's do, and pay its start-up at every key), and kept up to date.
The parser is the program's own, so a new option or subcommand completes with no extra step.
"""

from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh", "fish")

# Options whose value is a file: the shells complete paths there.
_PATH_OPTIONS = frozenset({"--config"})


def _mark_paths(parser: argparse.ArgumentParser) -> None:
    import shtab

    for action in parser._actions:  # argparse has no public way to walk its actions
        if _PATH_OPTIONS.intersection(action.option_strings):
            action.complete = shtab.FILE  # type: ignore[attr-defined]
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _mark_paths(sub)


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The script for `shell`, one of SHELLS."""
    import shtab

    _mark_paths(parser)
    script: str = shtab.complete(parser, shell=shell)  # shtab ships no type hints
    return script
