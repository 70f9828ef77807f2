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


@pytest.mark.parametrize("module", ["otp_tui.cli", "otp_tui.tui.launch", "otp_tui.tui.app"])
def test_entry_modules_do_not_import_the_mail_stack(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module, *MAIL_STACK],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.split() == [], f"importing {module} loaded the mail stack"


def test_probe_sees_an_import_of_the_mail_stack() -> None:
    # The probe itself works: a module that does import aiosmtplib is caught.
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "otp_tui.mail.sender", *MAIL_STACK],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "aiosmtplib" in result.stdout.split()


# Not needed to draw the first screen either: the verification core (built on first use),
# email-validator (~25 ms with idna), and SQLite (the ledger opens when a send needs it).
DEFERRED = (
    "otp_tui.core.machine",
    "otp_tui.core.outcomes",
    "email_validator",
    "email_validator.",
    "sqlite3",
    "otp_tui.state.ledger",
)


@pytest.mark.parametrize("module", ["otp_tui.tui.launch", "otp_tui.tui.app"])
def test_the_first_screen_needs_neither_the_core_nor_sqlite(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module, *DEFERRED],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.split() == [], f"importing {module} loaded {result.stdout}"
