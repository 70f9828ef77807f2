"""The Redis ledger's Lua: shipped as package data, read once, and the same in a built wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from otp_tui.state.redis_scripts import lua_source, script

ROOT = Path(__file__).resolve().parents[2]
LUA = ROOT / "otp_tui" / "state" / "lua"
OPERATIONS = ("status", "reserve_send", "admit_guess", "record_success", "unlock", "probe")


def test_each_operation_is_its_file_after_the_shared_head() -> None:
    head = (LUA / "head.lua").read_text(encoding="utf-8")
    for name in OPERATIONS:
        body = (LUA / f"{name}.lua").read_text(encoding="utf-8")
        assert script(name).source == f"{head}\n{body}"


def test_each_file_is_read_once() -> None:
    script.cache_clear()
    lua_source.cache_clear()
    first = [script(name) for name in OPERATIONS]
    again = [script(name) for name in OPERATIONS]
    assert all(a is b for a, b in zip(first, again, strict=True))
    # Each operation's file and the shared head: read once each, however often used.
    assert lua_source.cache_info().misses == len(OPERATIONS) + 1


def test_a_wheel_carries_every_lua_file(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("otp_tui-*.whl")
    shipped = zipfile.ZipFile(wheel)
    files = sorted(LUA.glob("*.lua"))
    assert {path.stem for path in files} >= {"head", *OPERATIONS}
    for path in files:
        assert shipped.read(f"otp_tui/state/lua/{path.name}") == path.read_bytes()
