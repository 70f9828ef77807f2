"""The gate's whole-run deadline (`[gate] session_timeout`): a run ends by itself, unverified and
with an audit line, whatever screen it is on. The run's clock is moved by hand."""

from __future__ import annotations

from typing import Any

from fakes import FakeClock
from test_run import ADDRESS, WALL_START, Recorder, code_in, wrong

from otp_tui.config.schema import PolicySettings, SenderSettings, Settings, SmtpSettings
from otp_tui.core.limits import MemoryLedger
from otp_tui.flow.build import make_run
from otp_tui.flow.run import Run
from otp_tui.flow.views import AskCode, Countdown, Finished, Sending

TIMEOUT = 600.0


def new_run(
    smtp: SmtpSettings, *, session_timeout: float | None = TIMEOUT, **policy: Any
) -> tuple[Run, FakeClock, Recorder]:
    clock, wall, audit = FakeClock(), FakeClock(WALL_START), Recorder()
    settings = Settings(
        smtp=smtp,
        sender=SenderSettings(address="otp@example.com"),
        policy=PolicySettings(**policy),
    )
    run = make_run(
        settings,
        email=ADDRESS,  # the gate's way: the address is fixed
        demo=False,
        ledger=MemoryLedger(wall),
        clock=clock,
        wall_clock=wall,
        audit=audit,
        origin="test-host",
        session_timeout=session_timeout,
    )
    return run, clock, audit


async def to_code(run: Run) -> AskCode:
    sending = await run.start()
    assert isinstance(sending, Sending)
    asked = await run.send()
    assert isinstance(asked, AskCode)
    return asked


async def test_the_code_screen_ends_unverified_when_the_session_runs_out(smtp_server):
    server = await smtp_server()
    run, clock, audit = new_run(server.settings(), code_ttl=3600, max_resends=10)
    await to_code(run)
    clock.advance(TIMEOUT - 1)
    assert isinstance(run.tick(), Countdown)  # a second left: the code screen waits on
    clock.advance(1)
    ending = run.tick()
    assert isinstance(ending, Finished)
    assert not ending.linger
    assert (ending.verified, ending.result.reason, ending.exit_status) == (False, "timeout", 1)
    assert audit.lines[-1] == ("interrupted", ADDRESS, {"reason": "timeout"})
    assert run.tick() is None  # ended once: no second line
    assert audit.events.count("interrupted") == 1
    # The code that was mailed no longer lets anyone in.
    assert await run.submit_code(code_in(server.received[0].message)) is None
    await run.close()


async def test_a_refusal_screen_ends_by_itself(smtp_server):
    server = await smtp_server()
    run, clock, audit = new_run(server.settings(), max_attempts=1)
    await to_code(run)
    locked = await run.submit_code(wrong(code_in(server.received[0].message)))
    assert isinstance(locked, Finished)
    assert locked.linger  # "Locked ... press Enter": left alone, it would wait for ever
    assert run.tick() is None
    clock.advance(TIMEOUT)
    ending = run.tick()
    assert isinstance(ending, Finished)
    assert not ending.linger
    assert (ending.verified, ending.result.reason) == (False, "timeout")
    assert audit.events[-2:] == ["locked", "interrupted"]
    assert audit.lines[-1][2] == {"reason": "timeout"}
    await run.close()


async def test_a_verified_result_left_on_screen_past_the_deadline_does_not_stand(smtp_server):
    # The caller learns the result only when the run ends; a run that ends by its deadline is
    # not verified (as with a signal on the result screen): fail closed.
    server = await smtp_server()
    run, clock, audit = new_run(server.settings())
    await to_code(run)
    verified = await run.submit_code(code_in(server.received[0].message))
    assert isinstance(verified, Finished)
    assert verified.verified
    clock.advance(TIMEOUT)
    ending = run.tick()
    assert isinstance(ending, Finished)
    assert (ending.verified, ending.result.reason) == (False, "timeout")
    assert audit.events[-2:] == ["verified", "interrupted"]
    await run.close()


async def test_without_a_session_timeout_a_run_has_no_deadline(smtp_server):
    server = await smtp_server()
    run, clock, audit = new_run(
        server.settings(), session_timeout=None, code_ttl=100_000, max_resends=10
    )
    await to_code(run)
    clock.advance(50_000)
    assert isinstance(run.tick(), Countdown)
    assert "interrupted" not in audit.events
    await run.close()
