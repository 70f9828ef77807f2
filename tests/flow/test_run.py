"""One run, driven the way a front end drives it, with no user interface at all.

Real SMTP servers on loopback, the machine's clock moved by hand; the code is read out of the
mail the server received, as a person reads it.
"""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import UTC
from email.message import EmailMessage
from typing import Any

import pytest
from fakes import FakeClock
from state.ledger_scenes import lock

from otp_tui.config.schema import PolicySettings, SenderSettings, Settings, SmtpSettings
from otp_tui.core.limits import MemoryLedger
from otp_tui.flow import wording
from otp_tui.flow.build import make_run
from otp_tui.flow.run import Run
from otp_tui.flow.views import (
    AskAddress,
    AskCode,
    Countdown,
    Elapsed,
    Finished,
    Sending,
    SendProblem,
)

ADDRESS = "user@example.com"
WALL_START = 1_767_268_800.0


class Recorder:
    """An audit trail that keeps its lines in a list."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, object]]] = []

    def record(self, event: str, address: str, **fields: object) -> None:
        self.lines.append((event, address, fields))

    @property
    def events(self) -> list[str]:
        return [event for event, _, _ in self.lines]


def new_run(
    smtp: SmtpSettings | None = None,
    *,
    demo: bool = False,
    email: str | None = None,
    ledger: Any = None,
    policy: dict[str, Any] | None = None,
    audit: Any = None,
    outbox_dir: Any = None,
) -> tuple[Run, FakeClock, Recorder]:
    clock = FakeClock()
    wall = FakeClock(WALL_START)
    recorder = audit if audit is not None else Recorder()
    settings = Settings(
        smtp=smtp or SmtpSettings(),
        sender=SenderSettings(address="otp@example.com"),
        policy=PolicySettings(**(policy or {})),
    )
    run = make_run(
        settings,
        email=email,
        demo=demo,
        ledger=ledger if ledger is not None else MemoryLedger(wall),
        clock=clock,
        wall_clock=wall,
        audit=recorder,
        origin="test-host",
        outbox_dir=outbox_dir,
    )
    return run, clock, recorder


def said(view: AskAddress | AskCode | SendProblem) -> str:
    """The view's notice as the TUI words it."""
    return wording.notice(view.notice, on_code=isinstance(view, AskCode))


def headline(ending: Finished) -> str:
    return wording.headline(ending.notice)


def detail(ending: Finished) -> str:
    return wording.ending_detail(ending.notice, ending.address)


def code_in(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.findall(r"^(\d{6})\s*$", body.get_content(), re.MULTILINE)
    assert len(found) == 1, found
    return found[0]


def wrong(code: str) -> str:
    return "".join("1" if c == "0" else "0" for c in code)


async def send_to_code(run: Run, address: str = ADDRESS) -> AskCode:
    sending = await run.submit_address(address)
    assert isinstance(sending, Sending), sending
    asked = await run.send()
    assert isinstance(asked, AskCode), asked
    return asked


async def test_the_whole_journey_to_verified(smtp_server):
    server = await smtp_server()
    run, _, audit = new_run(server.settings())
    assert run.first_view() == AskAddress()
    sending = await run.submit_address(ADDRESS)
    assert sending == Sending(ADDRESS, "127.0.0.1", 1.0, started_at=WALL_START)
    asked = await run.send()
    assert isinstance(asked, AskCode)
    assert asked.countdown == Countdown(600.0, 60.0, 3, resend_possible=False)
    assert server.received[0].rcpt_tos == [ADDRESS]
    ending = await run.submit_code(code_in(server.received[0].message))
    assert isinstance(ending, Finished)
    assert ending.verified
    assert headline(ending) == "Verified"
    assert ending.linger
    assert ending.exit_status == 0
    assert ending.result.sends == 1
    assert audit.events == ["send_requested", "sent", "verified"]
    await run.close()


async def test_wrong_codes_count_down_then_lock(smtp_server):
    server = await smtp_server()
    run, _, audit = new_run(server.settings(), policy={"max_attempts": 3})
    await send_to_code(run)
    bad = wrong(code_in(server.received[0].message))
    first = await run.submit_code(bad)
    assert isinstance(first, AskCode)
    assert said(first) == "Wrong code: 2 attempts left."
    assert first.clear_entry
    second = await run.submit_code(bad)
    assert isinstance(second, AskCode)
    assert said(second) == "Wrong code: 1 attempt left."
    locked = await run.submit_code(bad)
    assert isinstance(locked, Finished)
    assert headline(locked) == "Locked"
    assert locked.result.reason == "locked"
    assert locked.exit_status == 1
    assert audit.events.count("wrong_code") == 2
    assert audit.events[-1] == "locked"
    # Over: no intention changes the ending now.
    assert await run.submit_code(bad) is None
    assert await run.resend() is None


async def test_a_malformed_code_costs_nothing(smtp_server):
    server = await smtp_server()
    run, _, _ = new_run(server.settings())
    await send_to_code(run)
    answer = await run.submit_code("12ab")
    assert isinstance(answer, AskCode)
    assert said(answer) == "The code has 6 digits."
    assert not answer.clear_entry
    assert answer.countdown.resends_left == 3


async def test_resend_waits_for_the_cooldown_and_replaces_the_code(smtp_server):
    server = await smtp_server()
    run, clock, _ = new_run(server.settings())
    await send_to_code(run)
    old = code_in(server.received[0].message)
    refused = await run.resend()
    assert isinstance(refused, AskCode)
    assert said(refused) == "You can ask for a new code in 1:00."
    assert refused.notice.kind == "cooldown"
    clock.advance(60)
    assert isinstance(await run.resend(), Sending)
    asked = await run.send()
    assert isinstance(asked, AskCode)
    assert asked.countdown.resends_left == 2
    new = code_in(server.received[1].message)
    if old != new:
        stale = await run.submit_code(old)
        assert isinstance(stale, AskCode)
        assert said(stale).startswith("Wrong code")
    ending = await run.submit_code(new)
    assert isinstance(ending, Finished)
    assert ending.verified
    assert ending.result.sends == 2


async def test_expiry_asks_for_a_new_code_then_ends_when_none_is_left(smtp_server):
    server = await smtp_server()
    run, clock, _ = new_run(server.settings(), policy={"max_resends": 1})
    await send_to_code(run)
    clock.advance(601)
    tick = run.tick()
    assert tick == Countdown(0.0, 0.0, 1, resend_possible=True)
    expired = await run.submit_code(code_in(server.received[0].message))
    assert isinstance(expired, AskCode)
    assert said(expired) == "That code has expired. Press ctrl+r for a new one."
    assert isinstance(await run.resend(), Sending)
    assert isinstance(await run.send(), AskCode)
    clock.advance(601)
    ending = run.tick()  # time alone ends the run: no resend is left
    assert isinstance(ending, Finished)
    assert ending.result.reason == "expired"
    assert detail(ending) == (
        "The code expired, and this verification can send no more codes; start it again for a "
        "new one."
    )
    assert run.tick() is None


async def test_a_stalled_send_can_be_abandoned_at_once(silent_listener, loopback_settings):
    port = await silent_listener()
    run, clock, _ = new_run(loopback_settings(port, timeout=30))
    assert isinstance(await run.submit_address(ADDRESS), Sending)
    send = asyncio.ensure_future(run.send())
    await asyncio.sleep(0.05)  # let it connect; the server never answers
    clock.advance(3)
    assert run.tick() == Elapsed(3.0, 30.0)
    send.cancel()
    with pytest.raises(asyncio.CancelledError):
        await send
    back = await run.back()
    assert back == AskAddress()
    # The way back refunds nothing: the next send to any address is a resend (counted; a
    # corrected address waits for no cooldown).
    assert isinstance(await run.submit_address("other@example.com"), AskAddress | Sending)


async def test_a_temporary_refusal_can_be_retried(smtp_server):
    server = await smtp_server(rcpt_reply="421 4.3.2 Busy, try later")
    run, _, audit = new_run(server.settings())
    assert isinstance(await run.submit_address(ADDRESS), Sending)
    problem = await run.send()
    assert isinstance(problem, SendProblem)
    assert problem.retryable
    assert "temporary problem" in said(problem)
    assert wording.try_note(problem) == ""  # one try: nothing to count
    again = await run.retry()
    assert isinstance(again, Sending)
    again_problem = await run.send()
    assert isinstance(again_problem, SendProblem)
    assert wording.try_note(again_problem) == "Tried 2 times; the last try started at 12:00."
    server.handler.rcpt_reply = None
    retry = await run.retry()
    assert isinstance(retry, Sending)
    assert retry.retry
    assert wording.try_note(retry) == "Trying again (try 3, started at 12:00)…"
    asked = await run.send()
    assert isinstance(asked, AskCode)
    assert audit.events.count("send_failed") == 2


async def test_a_refusal_retrying_cannot_help_offers_no_retry(smtp_server):
    server = await smtp_server(rcpt_reply="550 5.1.1 No such user")
    run, _, _ = new_run(server.settings())
    await run.submit_address(ADDRESS)
    problem = await run.send()
    assert isinstance(problem, SendProblem)
    assert not problem.retryable
    assert await run.retry() is None  # nothing to retry
    assert await run.back() == AskAddress()


async def test_a_fixed_address_starts_by_sending_and_is_masked(smtp_server):
    server = await smtp_server()
    run, _, _ = new_run(server.settings(), email=ADDRESS)
    assert run.presentation.fixed_address == "u***@example.com"
    sending = await run.start()
    assert isinstance(sending, Sending)
    assert sending.address == "u***@example.com"
    asked = await run.send()
    assert isinstance(asked, AskCode)
    assert asked.address == "u***@example.com"
    # Whatever a front end submits, the fixed address is the one mailed.
    back = await run.back()
    assert isinstance(back, AskAddress)
    assert said(back) == "Press Enter to send a new code, or ctrl+q to quit."
    assert not back.notice.is_error


async def test_a_fixed_address_that_is_refused_ends_the_run(smtp_server):
    server = await smtp_server()
    ledger = MemoryLedger(FakeClock(WALL_START))
    lock(ledger, "user@example.com", 900)
    run, _, _ = new_run(server.settings(), email=ADDRESS, ledger=ledger)
    ending = await run.start()
    assert isinstance(ending, Finished)
    assert ending.result.reason == "locked"
    assert not server.received


async def test_an_invalid_address_is_explained(smtp_server):
    server = await smtp_server()
    run, _, _ = new_run(server.settings())
    answer = await run.submit_address("not-an-address")
    assert isinstance(answer, AskAddress)
    assert "@-sign" in said(answer)
    assert not server.received


async def test_demo_mode_mails_the_outbox_and_shows_it(tmp_path):
    run, _, _ = new_run(demo=True, outbox_dir=tmp_path / "outbox")
    assert run.newest_mail() is None
    assert run.presentation.server_label is None  # the demo outbox
    await send_to_code(run)
    mail = run.newest_mail()
    assert mail is not None
    code = re.search(r"^(\d{6})$", mail, re.MULTILINE)
    assert code is not None
    ending = await run.submit_code(code.group(1))
    assert isinstance(ending, Finished)
    assert ending.verified
    await run.close()


async def test_the_outbox_is_never_shown_outside_demo_mode(smtp_server):
    server = await smtp_server()
    run, _, _ = new_run(server.settings())
    await send_to_code(run)
    assert run.newest_mail() is None


@pytest.mark.parametrize(
    ("reason", "status"),
    [("cancelled", 1), ("interrupted", 130), ("hangup", 129), ("terminated", 143)],
)
async def test_quitting_is_never_verified(smtp_server, reason, status):
    server = await smtp_server()
    run, _, audit = new_run(server.settings())
    await send_to_code(run)
    ending = run.quit(reason)
    assert not ending.verified
    assert not ending.linger
    assert ending.result.reason == reason
    assert ending.exit_status == status
    assert audit.events[-1] == ("cancelled" if reason == "cancelled" else "interrupted")


async def test_a_signal_on_the_verified_screen_turns_it_into_not_verified(smtp_server):
    server = await smtp_server()
    run, _, audit = new_run(server.settings())
    await send_to_code(run)
    verified = await run.submit_code(code_in(server.received[0].message))
    assert isinstance(verified, Finished)
    assert verified.verified
    assert run.quit("cancelled").verified  # leaving the result screen keeps the result
    ending = run.quit("hangup")
    assert not ending.verified
    assert ending.exit_status == 129
    assert audit.events[-1] == "interrupted"


async def test_an_unusable_ledger_ends_the_run_with_status_2(tmp_path, smtp_server):
    from otp_tui.config.schema import StateSettings
    from otp_tui.state.lazy import LazyLedger

    server = await smtp_server()
    garbage = tmp_path / "ledger.sqlite3"
    garbage.write_bytes(b"not a database" * 100)
    ledger = LazyLedger(Settings(state=StateSettings(ledger=garbage)))
    run, _, _ = new_run(server.settings(), ledger=ledger)
    ending = await run.submit_address(ADDRESS)
    assert isinstance(ending, Finished)
    assert ending.exit_status == 2
    assert not ending.linger
    assert ending.error is not None
    assert str(garbage) in ending.error
    assert not server.received
    assert garbage.read_bytes() == b"not a database" * 100


async def test_an_audit_trail_that_fails_ends_the_run_with_status_2(smtp_server):
    from pathlib import Path

    from otp_tui.state.errors import AuditError

    class FullDisk(Recorder):
        def record(self, event: str, address: str, **fields: object) -> None:
            raise AuditError("The audit log /x cannot be written: disk full.", Path("/x"))

    server = await smtp_server()
    run, _, _ = new_run(server.settings(), audit=FullDisk())
    ending = await run.submit_address(ADDRESS)
    assert isinstance(ending, Finished)
    assert ending.exit_status == 2
    assert not server.received


class StallingLedger(MemoryLedger):
    """A ledger whose next status() waits until the test lets it go, like a stalled server."""

    def __init__(self, clock: Any) -> None:
        super().__init__(clock)
        self.entered = threading.Event()
        self.release = threading.Event()

    def status(self, address: str):  # type: ignore[no-untyped-def]
        self.entered.set()
        self.release.wait(5)
        return super().status(address)


async def test_a_stalled_ledger_never_blocks_the_event_loop_and_quit_answers(smtp_server):
    server = await smtp_server()
    ledger = StallingLedger(FakeClock(WALL_START))
    run, _, _ = new_run(server.settings(), ledger=ledger)
    pending = asyncio.ensure_future(run.submit_address(ADDRESS))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, ledger.entered.wait, 5)
    # The loop is free while the ledger stalls, and quitting takes effect at once.
    ending = run.quit("cancelled")
    assert ending.result.reason == "cancelled"
    ledger.release.set()
    assert await pending is None  # the late answer changes nothing
    assert run.ending == ending
    assert not server.received


def test_the_flow_loads_no_user_interface():
    import subprocess
    import sys

    probe = (
        "import sys, otp_tui.flow.run, otp_tui.flow.build, otp_tui.flow.delivery;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_requester_comes_from_the_real_uid_and_a_well_formed_ssh_client():
    import os
    import pwd

    from otp_tui.flow.requester import caller_from_environment, requester_from_environment

    me = pwd.getpwuid(os.getuid()).pw_name
    told = {"USER": "alice", "LOGNAME": "alice", "SSH_CONNECTION": "203.0.113.9 5000 10.0.0.1 22"}
    caller = caller_from_environment(environ=told)
    assert caller.user == me
    assert caller.ssh_client == "203.0.113.9"
    # The client is a claim: it labels, and the budgets count the account alone.
    assert requester_from_environment(environ=told).budget_names == (f"user:{me}",)
    junk = caller_from_environment(environ={"SSH_CONNECTION": "$(reboot) 1 2 3"})
    assert junk.ssh_client is None
    assert requester_from_environment("bob", environ={}).user == "bob"


async def test_sends_count_against_the_requester_across_addresses(smtp_server):
    from otp_tui.core.limits import Requester

    server = await smtp_server()
    wall = FakeClock(WALL_START)
    ledger = MemoryLedger(wall)
    settings = Settings(
        smtp=server.settings(),
        sender=SenderSettings(address="otp@example.com"),
        policy=PolicySettings(max_sends_per_hour_per_requester=2),
    )
    answers = []
    for n in range(3):
        run = make_run(
            settings,
            email=None,
            demo=False,
            ledger=ledger,
            clock=FakeClock(),
            wall_clock=wall,
            requester=lambda: Requester(user="mallory"),
        )
        answer = await run.submit_address(f"victim{n}@example.com")
        if isinstance(answer, Sending):
            await run.send()
        answers.append(answer)
    assert isinstance(answers[0], Sending)
    assert isinstance(answers[1], Sending)
    assert isinstance(answers[2], AskAddress)
    assert "try again in" in said(answers[2])
    assert len(server.received) == 2


def gate_run(smtp: SmtpSettings, ledger: Any = None, *, allow: bool) -> tuple[Run, Recorder]:
    recorder = Recorder()
    wall = FakeClock(WALL_START)
    run = make_run(
        Settings(smtp=smtp, sender=SenderSettings(address="otp@example.com")),
        email=ADDRESS,
        demo=False,
        ledger=ledger if ledger is not None else MemoryLedger(wall),
        clock=FakeClock(),
        wall_clock=wall,
        audit=recorder,
        allow_on_mail_failure=allow,
    )
    return run, recorder


async def test_a_gate_that_allows_on_mail_failure_lets_in_when_the_relay_is_down(
    closed_port, loopback_settings
):
    run, audit = gate_run(loopback_settings(closed_port), allow=True)
    assert isinstance(await run.start(), Sending)
    ending = await run.send()
    assert isinstance(ending, Finished)
    assert not ending.verified
    assert ending.result.reason == "allowed_without_mail"
    assert ending.exit_status == 0
    assert headline(ending) == "Let in without a code"
    assert audit.lines[-1] == ("allowed_without_mail", ADDRESS, {"kind": "unreachable"})


async def test_allow_on_mail_failure_is_off_by_default(closed_port, loopback_settings):
    run, _ = gate_run(loopback_settings(closed_port), allow=False)
    await run.start()
    problem = await run.send()
    assert isinstance(problem, SendProblem)
    assert run.quit().exit_status == 1


async def test_allow_never_follows_a_failure_the_sender_could_help(smtp_server):
    server = await smtp_server(rcpt_reply="550 5.1.1 No such user")
    run, audit = gate_run(server.settings(), allow=True)
    await run.start()
    assert isinstance(await run.send(), SendProblem)
    assert "allowed_without_mail" not in audit.events


async def test_allow_never_follows_wrong_codes(smtp_server, closed_port, loopback_settings):
    server = await smtp_server()
    wall = FakeClock(WALL_START)
    ledger = MemoryLedger(wall)
    first, _ = gate_run(server.settings(), ledger, allow=True)
    await first.start()
    await first.send()
    await first.submit_code(wrong(code_in(server.received[0].message)))
    first.quit()
    # The next login finds the relay down, with a wrong code already counted: no way in.
    second, audit = gate_run(loopback_settings(closed_port), ledger, allow=True)
    await second.start()
    assert isinstance(await second.send(), SendProblem)
    assert "allowed_without_mail" not in audit.events


async def test_allow_never_follows_wrong_codes_even_once_their_lock_has_ended(
    smtp_server, closed_port, loopback_settings
):
    server = await smtp_server()
    wall = FakeClock(WALL_START)
    ledger = MemoryLedger(wall)
    first, _ = gate_run(server.settings(), ledger, allow=True)
    await first.start()
    await first.send()
    bad = wrong(code_in(server.received[0].message))
    for _ in range(4):
        assert isinstance(await first.submit_code(bad), AskCode)
    locked = await first.submit_code(bad)
    assert isinstance(locked, Finished)
    assert locked.result.reason == "locked"
    # The lock ends; the five wrong codes still count (no success came since), so the next
    # login that finds the relay down is not let in.
    wall.advance(901)
    assert ledger.status(ADDRESS).locked_for == 0
    second, audit = gate_run(loopback_settings(closed_port), ledger, allow=True)
    assert isinstance(await second.start(), Sending)
    assert isinstance(await second.send(), SendProblem)
    assert "allowed_without_mail" not in audit.events


def test_a_lock_ends_at_the_same_minute_on_screen_and_in_status():

    from otp_tui.flow.wording import locked_detail
    from otp_tui.state.report import status_lines

    now = WALL_START + 58  # 12:00:58: the lock ends at 12:15:58
    ledger = MemoryLedger(FakeClock(now))
    lock(ledger, ADDRESS, 900)
    lines = status_lines(ledger, ADDRESS, clock=lambda: now, tz=UTC)
    assert lines[-1] == "locked until 2026-01-01 12:16 UTC"
    assert locked_detail(ADDRESS, 900, now).endswith("is locked until 12:16 (15 minutes).")


async def test_after_the_hourly_budget_refuses_a_resend_none_is_offered(smtp_server):
    server = await smtp_server()
    run, clock, _ = new_run(server.settings(), policy={"max_sends_per_hour": 1})
    await send_to_code(run)
    clock.advance(60)
    refused = await run.resend()
    assert isinstance(refused, AskCode)
    assert said(refused).startswith(
        "Too many codes were sent in the last hour (to this address, by your account, or by"
    )
    # The resend waits for the budget (an hour from the first send), not for the cooldown.
    assert refused.countdown.resend_in > 3000
    tick = run.tick()
    assert isinstance(tick, Countdown)
    assert tick.resend_in > 3000
