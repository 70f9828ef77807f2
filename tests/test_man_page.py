"""The man page: rendered from the argument parser, current, and shipped in a wheel where
`man` finds it beside the venv's bin; the wheel also carries the documented configuration.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from command_runner import ROOT

MAN_PAGE = ROOT / "man" / "otp-tui.1"


def test_the_committed_man_page_is_what_the_parser_gives() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "man" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, (
        "man/otp-tui.1 is out of date: run `python man/generate.py`\n" + run.stderr
    )
    page = MAN_PAGE.read_text()
    for subcommand in ("check", "status", "unlock", "report", "config", "completion", "gate"):
        assert f"COMMAND \\fI\\,'otp\\-tui {subcommand}'" in page


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from the checkout, installed into a venv of its own; the venv's root."""
    folder = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = folder.glob("otp_tui-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "otp_tui-0.1.0.data/data/share/man/man1/otp-tui.1" in names
    assert "otp_tui/config/example.toml" in names
    venv = folder / "venv"
    # --system-site-packages: the dependencies are the test's own; the wheel is installed anew.
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
        check=True,
        timeout=120,
    )
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    return venv


def test_man_finds_the_page_of_an_installed_wheel_beside_its_bin(installed_wheel: Path) -> None:
    man = shutil.which("man")
    if man is None:
        if os.environ.get("CI") == "true":
            pytest.fail("man is not installed; .ci/run must install man-db")
        pytest.skip("man is not installed")
    page = installed_wheel / "share" / "man" / "man1" / "otp-tui.1"
    assert page.read_text() == MAN_PAGE.read_text()
    # man-db looks in ../share/man beside every directory on PATH: the venv's bin is enough.
    env = {"PATH": f"{installed_wheel / 'bin'}:/usr/bin:/bin", "HOME": str(installed_wheel)}
    found = subprocess.run(
        [man, "-w", "otp-tui"], capture_output=True, text=True, env=env, timeout=30, check=False
    )
    assert (found.returncode, found.stdout.strip()) == (0, str(page)), found.stderr


def test_a_wheel_prints_the_full_example_without_a_source_tree(installed_wheel: Path) -> None:
    run = subprocess.run(
        [str(installed_wheel / "bin" / "otp-tui"), "config", "example", "--full"],
        capture_output=True,
        text=True,
        cwd=installed_wheel,
        env={"PATH": "/usr/bin:/bin", "HOME": str(installed_wheel)},
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == (ROOT / "config.example.toml").read_text()
