"""The PAM helper as the module starts it: a process on a socket pair, the operator's files;
through `otp-tui pam` and through its own entry, `python -I -m otp_tui.converse`, which the
README's recipe installs.

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

from otp_tui.converse.words import refused

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 and os.environ.get("CI") != "true",
    reason="the helper's file checks need files the PAM user cannot change: run as root",
)

# Runs `otp-tui pam` through the command line, then lists every module it imported.
PROGRAM = """
import atexit, sys
atexit.register(lambda: open(sys.argv[1], "w").write("\\n".join(sorted(sys.modules))))
from otp_tui.cli import main
sys.exit(main(sys.argv[2:]))
"""
# Runs the helper's own entry as the recipe's wrapper does (`python -I -m otp_tui.converse`),
# then lists every module it imported.
ENTRY = """
import atexit, runpy, sys
modules = sys.argv[1]
atexit.register(lambda: open(modules, "w").write("\\n".join(sorted(sys.modules))))
sys.argv = ["otp_tui.converse", *sys.argv[2:]]
runpy.run_module("otp_tui.converse", run_name="__main__", alter_sys=True)
"""
# What the helper never needs before (or after) its first prompt: the command line's parser,
# pydantic-settings (the environment is never read), the screens, and what only some
# configurations use (operator templates, a Redis ledger) or only some addresses need.
NEVER_ON_THE_HELPER_PATH = (
    "argparse", "pydantic_settings", "dotenv", "textual", "rich", "jinja2", "redis",
    "email_validator", "idna", "otp_tui.cli", "otp_tui.tui", "otp_tui.plain", "otp_tui.terminal",
)  # fmt: skip


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
    def __init__(self, config: Path, modules: Path, *extra: str, entry: bool = False) -> None:
        ours, theirs = socket.socketpair()
        self.ours = ours
        program, command = (ENTRY, []) if entry else (PROGRAM, ["pam"])
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", program, str(modules), *command, "--config",
             str(config), *extra],
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


def imported_from(modules: Path, names: tuple[str, ...]) -> list[str]:
    """The modules of `names` (or inside them) that the process imported."""
    imported = modules.read_text().splitlines()
    return [
        module
        for module in imported
        if any(module == n or module.startswith(n + ".") for n in names)
    ]


@pytest.mark.parametrize("entry", [False, True], ids=["otp-tui pam", "python -m otp_tui.converse"])
async def test_a_whole_run(smtp_server, tmp_path: Path, entry: bool) -> None:
    server = await smtp_server(tls="none")
    config = write_config(tmp_path, server.settings(), addresses="nobody bob@example.com\n")
    modules = tmp_path / "modules"
    helper = Helper(config, modules, entry=entry)
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
    if entry:
        assert imported_from(modules, NEVER_ON_THE_HELPER_PATH) == []
    else:  # the command line's parser, and nothing else of that list
        assert imported_from(modules, NEVER_ON_THE_HELPER_PATH) == ["argparse", "otp_tui.cli"]


async def test_no_address_on_file_is_denied(smtp_server, tmp_path: Path) -> None:
    server = await smtp_server(tls="none")
    config = write_config(tmp_path, server.settings(), addresses="root r@example.com\n")
    helper = Helper(config, tmp_path / "modules")
    await helper.open("nobody")
    lines = await helper.until("denied")
    # The person reads the one sentence of every setup refusal; which user has no address
    # (and what else the host holds) is the operator's, in syslog.
    assert lines[0] == f"error {refused()}"
    assert "nobody" not in "".join(lines)
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
    assert lines == [f"error {refused()}", "denied"]  # which user: syslog, not the person
    await helper.finish()


@pytest.mark.parametrize("entry", [False, True], ids=["otp-tui pam", "python -m otp_tui.converse"])
async def test_options_beyond_config_are_refused(tmp_path: Path, entry: bool) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    modules = tmp_path / "modules"
    helper = Helper(config, modules, "--set", "smtp.host=evil.example", entry=entry)
    status = await asyncio.to_thread(helper.process.wait, 20)
    assert status == 2  # a usage error: nothing is read, nothing is sent
    assert imported_from(modules, ("otp_tui.config",)) == []
