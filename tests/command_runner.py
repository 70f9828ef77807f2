"""`python -m otp_tui ARGS` as a real process, with a HOME of its own and nothing inherited.

For the operators' commands (check, status, unlock, report, doctor, config, completion): the
environment is built from nothing but PATH, PYTHONPATH, the home's XDG folders, TZ=UTC and
what a test adds, so only the variables a test sets choose the language or the config.
"""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Ran:
    status: int
    out: str
    err: str


def environment(home: Path, **variables: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "TZ": "UTC",
        **variables,
    }


async def run_otp_tui(*argv: str, env: dict[str, str], timeout: float = 60) -> Ran:
    """Run without blocking the event loop, so that a server the test serves can answer."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "otp_tui",
        *argv,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode("utf-8"), err.decode("utf-8"))


def write_config(directory: Path, text: str) -> Path:
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path
