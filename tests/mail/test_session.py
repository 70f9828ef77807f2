"""The SMTP session's own deadline: what every step of a send is awaited under."""

from __future__ import annotations

import asyncio

import pytest

from otp_tui.mail.session import with_deadline


async def test_an_answer_within_the_deadline_is_returned():
    async def answer() -> str:
        return "250 OK"

    assert await with_deadline(answer(), 5.0) == "250 OK"


async def test_a_step_that_never_answers_ends_at_its_deadline_with_timeout_error():
    never = asyncio.Event()
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        await with_deadline(never.wait(), 0.05)
    assert loop.time() - started < 2.0
