"""`otp-tui pam` as the module starts it: a process on a socket pair, the operator's files.

The test plays the module's side of the protocol over a real socket pair and the relay is a
real aiosmtpd server on loopback. Run as root (as CI is): the helper refuses files the PAM user
could change, so the PAM user here is `nobody` and the files are root's.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 and os.environ.get("CI") != "true",
    reason="the helper's file checks need files the PAM user cannot change: run as root",
)

# Runs the command line as the wrapper does, then lists every module it imported.
PROGRAM = """
import atexit, sys
atexit.register(lambda: open(sys.argv[1], "w").write("\\n".join(sorted(sys.modules))))
from otp_tui.cli import main
sys.exit(main(sys.argv[2:]))
"""


def write_config(folder: Path, settings, *, addresses: str) -> Path:
    folder.chmod(0o755)
    (folder / "addresses").write_text(addresses)
    state = folder / "state"
    state.mkdir(mode=0o700)
    config = folder / "config.toml"
    config.write_text(
        f"""[smtp]
host = "127.0.0.1"
port = {settings.port}
security = "none"
timeout = 5

[sender]
address = "otp@example.com"

[gate]
addresses_file = "{folder / "addresses"}"
state_dir = "{state}"
"""
    )
    return config


class Helper:
    def __init__(self, config: Path, modules: Path, *extra: str) -> None:
        ours, theirs = socket.socketpair()
        self.ours = ours
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", PROGRAM, str(modules), "pam", "--config", str(config),
             *extra],
            stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd="/",
        )  # fmt: skip
        theirs.close()

    async def open(self, user: str) -> None:
        self.reader, self.writer = await asyncio.open_unix_connection(sock=self.ours)
        block = f"otp-tui-pam 1\nuser {user}\nservice sshd\nrhost 192.0.2.9\ntty ssh\nend\n"
        self.writer.write(block.encode())
        await self.writer.drain()

    async def line(self) -> str:
        data = await asyncio.wait_for(self.reader.readline(), 20)
        assert data.endswith(b"\n"), data
        return data[:-1].decode()

    async def until(self, word: str) -> list[str]:
        lines = []
        while not (line := await self.line()).startswith(word):
            lines.append(line)
        return [*lines, line]

    async def answer(self, text: str) -> None:
        self.writer.write(f"answer {text}\n".encode())
        await self.writer.drain()

    async def finish(self) -> tuple[int, bytes, bytes]:
        rest = await asyncio.wait_for(self.reader.read(), 20)
        status = await asyncio.to_thread(self.process.wait, 20)
        assert self.process.stderr is not None
        return status, rest, self.process.stderr.read()


async def test_a_whole_run_through_the_command_line(smtp_server, tmp_path: Path) -> None:
    server = await smtp_server(tls="none")
    config = write_config(tmp_path, server.settings(), addresses="nobody bob@example.com\n")
    modules = tmp_path / "modules"
    helper = Helper(config, modules)
    await helper.open("nobody")
    lines = await helper.until("prompt ")
    assert lines[-1] == "prompt Code: "
    assert "info We sent a 6-digit code to b***@example.com." in lines
    body = server.received[0].message.get_body(preferencelist=("plain",)).get_content()
    code = re.findall(r"^(\d{6})\s*$", body, re.M)[0]
    await helper.answer(code)
    status, rest, stderr = await helper.finish()
    assert rest.decode().splitlines()[-1] == "verified"
    assert status == 0
    assert stderr == b""  # stderr is /dev/null under the module: nothing may need it
    audit = [
        json.loads(line) for line in (tmp_path / "state" / "audit.jsonl").read_text().splitlines()
    ]
    assert [line["event"] for line in audit] == ["send_requested", "sent", "verified"]
    assert {(line["user"], line["pam_service"], line["rhost"]) for line in audit} == {
        ("nobody", "sshd", "192.0.2.9")
    }
    imported = modules.read_text().splitlines()
    assert not [name for name in imported if name.split(".")[0] in ("textual", "rich")]
    assert "otp_tui.tui" not in imported
    assert "otp_tui.plain" not in imported


async def test_no_address_on_file_is_denied(smtp_server, tmp_path: Path) -> None:
    server = await smtp_server(tls="none")
    config = write_config(tmp_path, server.settings(), addresses="root r@example.com\n")
    helper = Helper(config, tmp_path / "modules")
    await helper.open("nobody")
    lines = await helper.until("denied")
    assert lines[0].startswith("error ")
    assert "nobody" in lines[0]
    status, rest, _ = await helper.finish()
    assert rest == b""
    assert status == 1
    assert server.received == []


async def test_an_unknown_user_is_denied(smtp_server, tmp_path: Path) -> None:
    server = await smtp_server(tls="none")
    config = write_config(tmp_path, server.settings(), addresses="nobody b@example.com\n")
    helper = Helper(config, tmp_path / "modules")
    await helper.open("no-such-user-otp")
    lines = await helper.until("denied")
    assert lines == ["error the user PAM names is not a known user", "denied"]
    await helper.finish()


async def test_options_beyond_config_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    helper = Helper(config, tmp_path / "modules", "--set", "smtp.host=evil.example")
    status = await asyncio.to_thread(helper.process.wait, 20)
    assert status == 2  # a usage error: nothing is read, nothing is sent
