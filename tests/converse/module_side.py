"""The PAM module's side of the relay protocol, played by a test over a real socket pair.

`start(run)` runs a `Conversation` on the run in a thread of its own (its blocking reads wait
for the test's answers) and returns a `ModuleSide` the test drives with asyncio, so the test's
SMTP server keeps serving meanwhile.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any

from otp_tui.converse.channel import Channel
from otp_tui.converse.conversation import Conversation
from otp_tui.flow.run import Run
from otp_tui.flow.views import Finished


@dataclass
class Prompt:
    lines: list[str]  # "info TEXT" / "error TEXT" before the prompt
    text: str
    echo: bool


@dataclass
class ModuleSide:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    done: asyncio.Future[Any]
    ours: socket.socket
    heard: list[str] = field(default_factory=list)  # every line, in order

    async def line(self) -> str:
        data = await asyncio.wait_for(self.reader.readline(), 15)
        assert data.endswith(b"\n"), f"the helper ended mid-line or closed: {data!r}"
        assert len(data) <= 1024
        text = data[:-1].decode("utf-8")
        self.heard.append(text)
        return text

    async def prompt(self) -> Prompt:
        lines: list[str] = []
        while True:
            line = await self.line()
            word, _, text = line.partition(" ")
            if word in ("prompt", "prompt-echo"):
                return Prompt(lines, text, echo=word == "prompt-echo")
            assert word in ("info", "error"), line
            lines.append(line)

    async def answer(self, text: str) -> None:
        self.writer.write(f"answer {text}\n".encode())
        await self.writer.drain()

    async def told_why(self) -> list[str]:
        """An ending the person did not ask for: its lines, then the prompt that makes sshd
        show them, answered with Enter."""
        prompt = await self.prompt()
        assert prompt.text == "Press Enter to end. > "
        assert prompt.echo
        await self.answer("")
        return prompt.lines

    async def ending(self) -> tuple[list[str], Finished]:
        """The lines after the last answer, and the run's ending once the thread is done."""
        finished = await asyncio.wait_for(self.done, 15)
        lines = []
        while data := await self.reader.readline():
            lines.append(data.decode().rstrip("\n"))
        self.heard.extend(lines)
        return lines, finished

    async def hang_up(self) -> None:
        self.writer.close()

    def close(self) -> None:
        """Whatever happened, the conversation's thread is not left waiting for an answer."""
        self.writer.close()
        self.ours.close()


async def start(run: Run, started: list[ModuleSide]) -> ModuleSide:
    ours, theirs = socket.socketpair()
    files = theirs.makefile("rb"), theirs.makefile("wb")

    def converse() -> Finished:
        try:
            return asyncio.run(Conversation(run, Channel(*files)).main())
        finally:
            for file in files:
                file.close()
            theirs.close()

    done = asyncio.ensure_future(asyncio.to_thread(converse))
    reader, writer = await asyncio.open_unix_connection(sock=ours)
    module = ModuleSide(reader, writer, done, ours)
    started.append(module)
    return module
