"""The journey as prompts and answers: each view of the run becomes a few lines and, when it
waits for the person, one prompt; each answer becomes one intention.

The conversation decides nothing: what an answer means depends only on the view shown last,
as in the plain mode. It has no clock of its own either: the person's answer is the only
event, so the time left, the expiry and the lock are read from the run when an answer comes.
Every line goes out through `Channel`, which cleans it.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from otp_tui.converse import words
from otp_tui.converse.channel import ProtocolError
from otp_tui.flow.views import (
    AskAddress,
    AskCode,
    Countdown,
    Finished,
    Sending,
    SendProblem,
    View,
)

if TYPE_CHECKING:
    from otp_tui.converse.channel import Channel
    from otp_tui.flow.run import Run


class Conversation:
    def __init__(self, run: Run, channel: Channel) -> None:
        self._run = run
        self._channel = channel
        self._answered = False  # whether the person has answered a prompt in this run

    async def main(self) -> Finished:
        """Drive the run to its ending, which it returns (already told to the person).

        ProtocolError when the module goes away (the client hung up): the run ends as a
        hang-up, in the audit trail too, and the error goes on up."""
        try:
            return await self._converse()
        except ProtocolError:
            self._run.quit("hangup")
            raise
        finally:
            await self._run.close()

    async def _converse(self) -> Finished:
        view: View | None = await self._run.start()  # the address is fixed: this sends
        if view is None:  # nothing to send to: never expected with a fixed address
            view = self._run.quit("cancelled")
        after_send = False
        while not isinstance(view, Finished):
            if isinstance(view, Sending):
                view, after_send = await self._send(view), True
            elif isinstance(view, AskCode):
                view, after_send = await self._ask_code(view, after_send=after_send), False
            elif isinstance(view, SendProblem):
                view = await self._send_problem(view)
            else:
                view = self._cannot_continue(view)
        self._end(view)
        return view

    async def _send(self, view: Sending) -> View:
        self._channel.say(words.sending(view.address, view.via))
        sent = await self._run.send()
        return sent if sent is not None else self._run.quit("cancelled")

    async def _ask_code(self, view: AskCode, *, after_send: bool) -> View:
        lines: list[tuple[str, bool]] = []  # (text, is an error)
        if after_send:
            lines.append((words.sent(self._run.presentation.code_length, view.address), False))
            lines.append((words.time_left(view.countdown), False))
            lines.append((words.code_keys(), False))
        if view.notice:
            lines.append((words.notice(view.notice, on_code=True), view.notice.is_error))
        while True:
            for text, is_error in lines:
                self._channel.say(text, error=is_error)
            answer = self._channel.ask(words.code_prompt())
            self._answered = True
            # The clock moved while the person typed: an expiry or a lock shows first.
            tick = self._run.tick()
            if isinstance(tick, Finished):
                return tick
            word = answer.strip().lower()
            if word == "":
                lines = [(words.time_left(tick), False)] if isinstance(tick, Countdown) else []
                continue
            if word == words.RESEND:
                following = await self._run.resend()
            else:
                following = await self._run.submit_code(answer.strip())
            if following is not None:
                return following
            lines = []  # it meant nothing now: ask again

    async def _send_problem(self, view: SendProblem) -> View:
        self._channel.say(words.could_not_send(view.address, view.via), error=True)
        self._channel.say(words.notice(view.notice), error=True)
        answer = self._channel.ask(
            words.after_send_problem(retryable=view.retryable) + " " + words.again_prompt(),
            echo=True,
        )
        self._answered = True
        if view.retryable and answer.strip().lower() == words.RESEND:
            retried = await self._run.retry()
            if retried is not None:
                return retried
        return self._run.quit("cancelled")

    def _cannot_continue(self, view: AskAddress) -> Finished:
        # The address is the operator's and fixed: there is no other one to type. The notice
        # says why the run is back at the address; the run ends unverified.
        if view.notice:
            self._channel.say(words.notice(view.notice), error=view.notice.is_error)
        return self._run.quit("cancelled")

    def _end(self, ending: Finished) -> None:
        self._channel.say(words.ending(ending), error=not ending.result.lets_in)
        if words.ends_with_a_prompt(ending, answered=self._answered):
            # The prompt is there so that sshd (and the module under PAM_SILENT) shows the
            # lines above it. The answer changes nothing; a client that leaves instead is fine.
            with contextlib.suppress(ProtocolError):
                self._channel.ask(words.end_prompt(), echo=True)
