"""The start-up path stays light: the mail stack is imported at the first send, not before.

Each module is imported in a fresh interpreter, so what other tests loaded cannot hide a
regression. tests/bench/bench.py measures what this protects.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

# A name matches itself and, with a trailing dot, its submodules.
MAIL_STACK = ("aiosmtplib", "aiosmtpd", "otp_tui.mail", "aiosmtplib.", "aiosmtpd.", "otp_tui.mail.")

PROBE = """
import importlib, sys
importlib.import_module(sys.argv[1])
heavy = tuple(sys.argv[2:])
print(" ".join(sorted(m for m in sys.modules if m in heavy or m.startswith(heavy))))
"""


def loaded(module: str, watched: tuple[str, ...]) -> list[str]:
    """Which of `watched` a fresh interpreter has loaded after importing `module`."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module, *watched],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.split()


@pytest.mark.parametrize(
    "module",
    ["otp_tui.cli", "otp_tui.tui.launch", "otp_tui.tui.app", "otp_tui.plain.launch"],
)
def test_entry_modules_do_not_import_the_mail_stack(module: str) -> None:
    assert loaded(module, MAIL_STACK) == [], f"importing {module} loaded the mail stack"


def test_probe_sees_an_import_of_the_mail_stack() -> None:
    # The probe itself works: a module that does import aiosmtplib is caught.
    assert "aiosmtplib" in loaded("otp_tui.mail.sender", MAIL_STACK)


# Not needed to draw the first screen either: the verification core (built on first use),
# email-validator (~25 ms with idna), and SQLite (the ledger opens when a send needs it).
DEFERRED = (
    "otp_tui.core",
    "otp_tui.core.",
    "email_validator",
    "email_validator.",
    "sqlite3",
    "otp_tui.state.ledger",
)


# What run_interactive imports before the app's first frame.
FIRST_SCREEN = [
    "otp_tui.tui.launch",
    "otp_tui.tui.app",
    "otp_tui.state.lazy",
    "otp_tui.state.audit",
]


@pytest.mark.parametrize("module", FIRST_SCREEN)
def test_the_first_screen_needs_neither_the_core_nor_sqlite(module: str) -> None:
    found = loaded(module, DEFERRED)
    assert found == [], f"importing {module} loaded {found}"


# What run_plain imports before its first line; and never Textual, at any point.
PLAIN_FIRST_LINE = ["otp_tui.plain.launch", "otp_tui.plain.line_mode", "otp_tui.flow.launch"]


# Every line printed passes through the sanitiser: that one small module of the core (with its
# empty package) is needed from the first line on.
SANITISER = ["otp_tui.core", "otp_tui.core.untrusted"]


@pytest.mark.parametrize("module", PLAIN_FIRST_LINE)
def test_the_plain_first_line_needs_neither_the_core_nor_sqlite(module: str) -> None:
    found = [name for name in loaded(module, DEFERRED) if name not in SANITISER]
    assert found == [], f"importing {module} loaded {found}"


@pytest.mark.parametrize("module", ["otp_tui.plain.launch", "otp_tui.plain.line_mode"])
def test_the_plain_mode_loads_no_textual(module: str) -> None:
    found = loaded(module, ("textual", "textual.", "rich", "rich."))
    assert found == [], f"importing {module} loaded {found}"
