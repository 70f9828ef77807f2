"""The import contracts hold: each import they exist to stop, added to a copy of the package,
makes `lint-imports` fail, and the package as it is passes.

The copy is the repository's own files in a temporary folder; `lint-imports` runs there, so
it reads the copy's package and the copy's pyproject.toml.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# import-linter is a test dependency: installed with the test extras, next to this interpreter.
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_copy(tmp_path: Path, change: str, *, rename: tuple[str, str] | None = None) -> str:
    """`lint-imports` over a copy of the repository with `change` (`path: line`) appended."""
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("pyproject.toml", "otp_tui", "tools"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, copy / name)
    if change:
        path, line = change.split(": ", 1)
        with (copy / path).open("a") as module:
            module.write(f"\n{line}  # noqa\n")
    if rename is not None:
        (copy / rename[0]).rename(copy / rename[1])
    done = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=copy, capture_output=True, text=True, timeout=120
    )
    return f"{done.returncode}\n{done.stdout}{done.stderr}"


def test_the_package_as_it_is_keeps_every_contract(tmp_path):
    out = lint_copy(tmp_path, "")
    assert out.startswith("0\n"), out
    assert "0 broken" in out


@pytest.mark.parametrize(
    ("change", "broken"),
    [
        # The core imports nothing above it, and nothing from outside but the allowlist.
        (
            "otp_tui/core/codes.py: from otp_tui.gate import refusal",
            "otp_tui.core is not allowed to import otp_tui.gate",
        ),
        (
            "otp_tui/core/codes.py: import redis",
            "otp_tui.core.codes is not allowed to import redis",
        ),
        (
            "otp_tui/core/codes.py: import pydantic",
            "otp_tui.core.codes is not allowed to import pydantic",
        ),
        (
            "otp_tui/core/codes.py: import jinja2",
            "otp_tui.core.codes is not allowed to import jinja2",
        ),
        (
            "otp_tui/core/codes.py: import subprocess",
            "otp_tui.core.codes is not allowed to import subprocess",
        ),
        ("otp_tui/core/codes.py: import time", "otp_tui.core.codes is not allowed to import time"),
        (
            "otp_tui/core/codes.py: import platformdirs",
            "otp_tui.core.codes is not allowed to import platformdirs",
        ),
        # The flow speaks no protocol itself.
        (
            "otp_tui/flow/run.py: import aiosmtplib",
            "otp_tui.flow is not allowed to import aiosmtplib",
        ),
        ("otp_tui/flow/run.py: import redis", "otp_tui.flow is not allowed to import redis"),
        # result and hardening have their layers.
        (
            "otp_tui/result.py: from otp_tui.flow import views",
            "otp_tui.result is not allowed to import otp_tui.flow",
        ),
        (
            "otp_tui/hardening.py: from otp_tui import cli",
            "otp_tui.hardening is not allowed to import otp_tui.cli",
        ),
        # Front ends reach state and mail only through the flow.
        (
            "otp_tui/tui/app.py: from otp_tui.state import ledger",
            "otp_tui.tui is not allowed to import otp_tui.state",
        ),
        (
            "otp_tui/plain/line_mode.py: from otp_tui.mail import sender",
            "otp_tui.plain is not allowed to import otp_tui.mail",
        ),
        (
            "otp_tui/converse/__init__.py: from otp_tui.state import audit",
            "otp_tui.converse is not allowed to import otp_tui.state",
        ),
        # A module of the package in no layer.
        ("otp_tui/unplaced.py: import os", "otp_tui.unplaced"),
    ],
)
def test_each_import_the_contracts_exist_to_stop_breaks_one(tmp_path, change, broken):
    out = lint_copy(tmp_path, change)
    assert not out.startswith("0\n"), out
    assert broken in out, out


def test_a_layer_that_no_longer_exists_is_an_error_not_a_silent_gap(tmp_path):
    out = lint_copy(tmp_path, "", rename=("otp_tui/plain", "otp_tui/lines"))
    assert not out.startswith("0\n"), out
    assert "otp_tui.plain does not exist" in out, out
