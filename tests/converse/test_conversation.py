"""The conversation front end on a real run: the journey as prompts and answers.

The run is the flow's, with a real SMTP server on loopback and the clock moved by hand; the
conversation runs in a thread of its own and talks over a real socket pair to the test, which
plays the PAM module line by line and reads the code from the mail as a person would.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import pytest
from fakes import FakeClock
from module_side import ModuleSide
from module_side import start as start_conversation

from otp_tui.config.schema import (
    AccessSettings,
    PolicySettings,
    SenderSettings,
    Settings,
    SmtpSettings,
)
from otp_tui.core.limits import LedgerEntry, MemoryLedger
from otp_tui.flow.build import make_run
from otp_tui.flow.run import Run
from otp_tui.state.errors import LedgerError

ADDRESS = "alice@example.com"
MASKED = "a***@example.com"
WALL_START = 1_767_268_800.0


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, object]]] = []

    def record(self, event: str, address: str, **fields: object) -> None:
        self.lines.append((event, address, fields))

    @property
    def events(self) -> list[str]:
        return [event for event, _, _ in self.lines]


def new_run(
    smtp: SmtpSettings,
    *,
    policy: dict[str, object] | None = None,
    allow: bool = False,
    access: dict[str, object] | None = None,
    shared: tuple[FakeClock, FakeClock, MemoryLedger] | None = None,
) -> tuple[Run, FakeClock, Recorder]:
    """A run on its own clocks and ledger, or on `shared` ones (a second login after a first)."""
    audit = Recorder()
    clock, wall, ledger = shared or (FakeClock(), FakeClock(WALL_START), None)
    if ledger is None:
        ledger = MemoryLedger(wall)
    settings = Settings(
        smtp=smtp,
        sender=SenderSettings(address="otp@example.com"),
        policy=PolicySettings.model_validate(policy or {}),
        access=AccessSettings.model_validate(access or {}),
    )
    run = make_run(
        settings,
        email=ADDRESS,
        demo=False,
        ledger=ledger,
        clock=clock,
        wall_clock=wall,
        audit=audit,
        origin="test-host",
        allow_on_mail_failure=allow,
    )
    return run, clock, audit


@pytest.fixture
async def start():
    started: list[ModuleSide] = []

    async def begin(run: Run) -> ModuleSide:
        return await start_conversation(run, started)

    yield begin
    for module in started:
        module.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(module.done, 15)


def code_of(server, index: int = -1) -> str:
    body = server.received[index].message.get_body(preferencelist=("plain",))
    found = re.findall(r"^(\d{6})\s*$", body.get_content(), re.MULTILINE)
    assert len(found) == 1
    return found[0]


def wrong(code: str) -> str:
    return "".join("1" if c == "0" else "0" for c in code)


async def first_prompt(module: ModuleSide) -> list[str]:
    prompt = await module.prompt()
    assert prompt.text == "Code: "
    assert not prompt.echo  # the code is typed with echo off
    return prompt.lines


async def test_the_right_code_is_verified(smtp_server, start) -> None:
    server = await smtp_server()
    run, _, audit = new_run(server.settings())
    module = await start(run)
    lines = await first_prompt(module)
    assert lines == [
        f"info Sending a code to {MASKED} via 127.0.0.1…",
        f"info We sent a 6-digit code to {MASKED}.",
        "info Code expires in 10:00. A new code can be asked for in 1:00.",
        "info Type the code and press Enter; r asks for a new code, an empty answer shows "
        "the time left.",
    ]
    await module.answer(code_of(server))
    after, ending = await module.ending()
    assert ending.result.reason == "verified"
    assert after == [f"info Verified. {MASKED} is confirmed: you control this address."]
    assert audit.events == ["send_requested", "sent", "verified"]
    assert all(code_of(server) not in line for line in module.heard)


async def test_wrong_codes_say_attempts_left_then_lock(smtp_server, start) -> None:
    server = await smtp_server()
    run, _, audit = new_run(server.settings(), policy={"max_attempts": 3})
    module = await start(run)
    await first_prompt(module)
    code = code_of(server)
    await module.answer(wrong(code))
    prompt = await module.prompt()
    assert prompt.lines == ["error Wrong code: 2 attempts left."]
    await module.answer(wrong(code))
    assert (await module.prompt()).lines == ["error Wrong code: 1 attempt left."]
    await module.answer(wrong(code))
    why = await module.told_why()
    after, ending = await module.ending()
    assert ending.result.reason == "locked"
    assert after == []
    assert len(why) == 1
    assert why[0].startswith("error Locked. ")
    assert audit.events[-1] == "locked"


async def test_a_malformed_code_costs_nothing(smtp_server, start) -> None:
    server = await smtp_server()
    run, _, _ = new_run(server.settings())
    module = await start(run)
    await first_prompt(module)
    await module.answer("12ab")
    prompt = await module.prompt()
    assert prompt.lines == ["error The code has 6 digits."]
    await module.answer(code_of(server))
    _, ending = await module.ending()
    assert ending.result.reason == "verified"


async def test_an_empty_answer_shows_the_time_left(smtp_server, start) -> None:
    server = await smtp_server()
    run, clock, _ = new_run(server.settings())
    module = await start(run)
    await first_prompt(module)
    clock.advance(75)
    await module.answer("")
    prompt = await module.prompt()
    assert prompt.lines == [
        "info Code expires in 8:45. Type r for a new code (3 more codes can be sent)."
    ]
    await module.answer(code_of(server))
    _, ending = await module.ending()
    assert ending.verified


async def test_r_asks_for_a_new_code_after_the_cooldown(smtp_server, start) -> None:
    server = await smtp_server()
    run, clock, audit = new_run(server.settings())
    module = await start(run)
    await first_prompt(module)
    first = code_of(server)
    await module.answer("r")
    prompt = await module.prompt()
    assert len(prompt.lines) == 1
    assert prompt.lines[0].startswith("error ")
    assert "0:59" in prompt.lines[0] or "1:00" in prompt.lines[0], prompt.lines
    assert len(server.received) == 1
    clock.advance(61)
    await module.answer(" R ")
    prompt = await module.prompt()
    assert len(server.received) == 2
    assert prompt.lines[0] == f"info Sending a code to {MASKED} via 127.0.0.1…"
    assert any("earlier codes no longer work" in line.lower() for line in prompt.lines)
    await module.answer(first)  # the old code is spent
    assert (await module.prompt()).lines[0].startswith("error Wrong code")
    await module.answer(code_of(server))
    _, ending = await module.ending()
    assert ending.verified
    assert audit.events.count("sent") == 2


async def test_an_expired_code_says_so_and_r_sends_another(smtp_server, start) -> None:
    server = await smtp_server()
    run, clock, _ = new_run(server.settings())
    module = await start(run)
    await first_prompt(module)
    old = code_of(server)
    clock.advance(601)
    await module.answer(old)
    prompt = await module.prompt()
    assert prompt.lines == ["error The code has expired. Type r for a new one."]
    await module.answer("r")
    await module.prompt()
    await module.answer(code_of(server))
    _, ending = await module.ending()
    assert ending.verified


async def test_expiry_with_no_resend_left_ends_the_run(smtp_server, start) -> None:
    server = await smtp_server()
    run, clock, _ = new_run(server.settings(), policy={"max_resends": 0})
    module = await start(run)
    await first_prompt(module)
    clock.advance(601)
    await module.answer(code_of(server))
    why = await module.told_why()
    _, ending = await module.ending()
    assert ending.result.reason == "expired"
    assert why[0].startswith("error Not verified")


async def test_a_failed_send_can_be_retried_with_r(smtp_server, start) -> None:
    server = await smtp_server(data_reply="451 4.3.0 Try later")
    run, _, audit = new_run(server.settings())
    module = await start(run)
    prompt = await module.prompt()
    assert prompt.echo  # a word to type, not a secret
    assert prompt.lines[1].startswith("error Could not send")
    assert prompt.text.startswith("Type r to try again, or press Enter to give up.")
    await module.answer("")
    after, ending = await module.ending()
    assert ending.result.reason == "cancelled"
    assert after[0].startswith("error Not verified")
    assert audit.events.count("send_failed") == 1


async def test_on_mail_failure_allow_lets_in_without_a_code(smtp_server, start) -> None:
    # Only a failure retrying could help (the server busy), never a refused address.
    server = await smtp_server(data_reply="451 4.3.0 Try later")
    run, _, audit = new_run(server.settings(), allow=True)
    module = await start(run)
    after, ending = await module.ending()
    assert ending.result.reason == "allowed_without_mail"
    assert ending.exit_status == 0
    assert after[0] == f"info Sending a code to {MASKED} via 127.0.0.1…"
    assert after[1].startswith("info "), after  # let in: not worded as an error
    assert audit.events[-1] == "allowed_without_mail"


async def test_on_mail_failure_allow_never_covers_a_refused_address(smtp_server, start) -> None:
    server = await smtp_server(rcpt_reply="550 5.1.1 No such user")
    run, _, _ = new_run(server.settings(), allow=True)
    module = await start(run)
    prompt = await module.prompt()
    assert prompt.text == "Press Enter to end. > "
    await module.answer("r")  # not offered: it means nothing here
    after, ending = await module.ending()
    assert ending.result.reason == "cancelled"  # the person's own answer: no further prompt
    assert after[0].startswith("error Not verified")


async def test_the_module_going_away_ends_the_run_as_a_hang_up(smtp_server, start) -> None:
    server = await smtp_server()
    run, _, audit = new_run(server.settings())
    module = await start(run)
    await first_prompt(module)
    await module.hang_up()
    with pytest.raises(Exception, match="closed the conversation"):
        await module.done
    assert run.ending is not None
    assert run.ending.result.reason == "hangup"
    assert audit.events[-1] == "interrupted"


async def test_a_client_that_leaves_at_the_last_prompt_changes_nothing(smtp_server, start) -> None:
    server = await smtp_server()
    run, _, audit = new_run(server.settings(), policy={"max_attempts": 1})
    module = await start(run)
    await first_prompt(module)
    await module.answer(wrong(code_of(server)))
    prompt = await module.prompt()
    assert prompt.lines[0].startswith("error Locked. ")
    await module.hang_up()
    finished = await module.done
    assert finished.result.reason == "locked"  # not turned into a hang-up
    assert audit.events[-1] == "locked"


async def test_a_login_while_locked_is_told_why_before_it_ends(smtp_server, start) -> None:
    # A second login while the address is locked: refused before any question, the reason
    # then the last prompt, or sshd and PAM_SILENT would show nothing of it.
    server = await smtp_server()
    clock, wall = FakeClock(), FakeClock(WALL_START)
    shared = (clock, wall, MemoryLedger(wall))
    first, _, _ = new_run(server.settings(), policy={"max_attempts": 1}, shared=shared)
    module = await start(first)
    await first_prompt(module)
    await module.answer(wrong(code_of(server)))
    await module.told_why()
    assert (await module.ending())[1].result.reason == "locked"
    wall.advance(60)
    second, _, audit = new_run(server.settings(), policy={"max_attempts": 1}, shared=shared)
    module = await start(second)
    why = await module.told_why()
    after, ending = await module.ending()
    assert ending.result.reason == "locked"
    assert why == [
        f"error Locked. Too many wrong codes. {MASKED} is locked until 12:15 (14 minutes)."
    ]
    assert after == []
    assert len(server.received) == 1
    assert audit.events == ["locked"]


async def test_a_spent_hourly_budget_is_told_before_it_ends(smtp_server, start) -> None:
    server = await smtp_server()
    clock, wall = FakeClock(), FakeClock(WALL_START)
    shared = (clock, wall, MemoryLedger(wall))
    first, _, _ = new_run(server.settings(), policy={"max_sends_per_hour": 1}, shared=shared)
    module = await start(first)
    await first_prompt(module)
    await module.answer(code_of(server))
    assert (await module.ending())[1].result.reason == "verified"
    second, _, _ = new_run(server.settings(), policy={"max_sends_per_hour": 1}, shared=shared)
    module = await start(second)
    why = await module.told_why()
    _, ending = await module.ending()
    assert ending.result.reason == "failed"
    assert why == [
        "error Not verified. Too many codes were sent in the last hour (to this address, by "
        "your account, or by everyone together); try again in 60 minutes."
    ]
    assert len(server.received) == 1


async def test_a_refused_address_asks_nothing(smtp_server, start) -> None:
    # The one sentence for every reason an address is refused, and no prompt: nothing the
    # person can do about it, so sshd and PAM_SILENT drop it as before.
    server = await smtp_server()
    run, _, _ = new_run(server.settings(), access={"allowed_domains": ("example.org",)})
    module = await start(run)
    after, ending = await module.ending()
    assert ending.result.reason == "failed"
    assert after == ["error Not verified. This address can't be verified here."]
    assert server.received == []


class BrokenLedger(MemoryLedger):
    def status(self, address: str) -> LedgerEntry:
        where = Path("/var/lib/otp-tui/ledger.sqlite3")
        raise LedgerError(f"The ledger {where} cannot be read.", where)


async def test_a_storage_failure_before_any_question_asks_nothing(smtp_server, start) -> None:
    # The operator's words go to the operator (the launcher says and logs the error line).
    server = await smtp_server()
    clock, wall = FakeClock(), FakeClock(WALL_START)
    run, _, _ = new_run(server.settings(), shared=(clock, wall, BrokenLedger(wall)))
    module = await start(run)
    after, ending = await module.ending()
    assert ending.error is not None
    assert after == ["error Not verified."]
    assert server.received == []
