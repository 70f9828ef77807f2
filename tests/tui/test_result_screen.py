"""The result screen: how a run is left once its result is shown."""

from tui_harness import build_app, code_in, wait_for

from otp_tui.tui.screens.code import CodeScreen
from otp_tui.tui.screens.result import GOES_ON_AFTER, GRACE, ResultScreen

SIZE = (80, 24)
ADDRESS = "alice@example.com"


async def verified(pilot, server):
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CodeScreen))
    await pilot.press(*code_in(server.received[-1].message))
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResultScreen))


async def test_a_verified_login_goes_on_by_itself_once_seen(smtp_server):
    server = await smtp_server()
    harness = build_app(smtp=server.settings(), email=ADDRESS, login_user="alice")
    async with harness.app.run_test(size=SIZE) as pilot:
        await verified(pilot, server)
        said = str(pilot.app.screen.query_one(".hint").render())
        assert said == "Going on to your session…"
        # Shown for a moment first: nothing happens while the run's clock stands still.
        for _ in range(5):
            await pilot.pause(0.05)
        assert pilot.app.is_running
        harness.clock.advance(GOES_ON_AFTER)
        await wait_for(pilot, lambda: not pilot.app.is_running)
    assert pilot.app.return_code == 0
    assert pilot.app.return_value is not None
    assert pilot.app.return_value.verified


async def test_a_run_that_is_no_login_still_waits_for_a_key(smtp_server):
    server = await smtp_server()
    harness = build_app(smtp=server.settings(), email=ADDRESS)
    async with harness.app.run_test(size=SIZE) as pilot:
        await verified(pilot, server)
        assert str(pilot.app.screen.query_one(".hint").render()) == "Press Enter to quit."
        harness.clock.advance(GOES_ON_AFTER + GRACE)
        for _ in range(5):
            await pilot.pause(0.05)
        assert isinstance(pilot.app.screen, ResultScreen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not pilot.app.is_running)
    assert pilot.app.return_code == 0


async def test_a_failed_login_waits_and_keeps_the_habitual_enter_harmless(smtp_server):
    server = await smtp_server()
    harness = build_app(
        smtp=server.settings(), email=ADDRESS, login_user="alice", policy={"max_attempts": 1}
    )
    async with harness.app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CodeScreen))
        code = code_in(server.received[-1].message)
        await pilot.press(*("1" if c == "0" else "0" for c in code))
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResultScreen))
        await pilot.press("enter")  # at once, by habit: ignored
        harness.clock.advance(GOES_ON_AFTER)
        for _ in range(5):
            await pilot.pause(0.05)
        assert isinstance(pilot.app.screen, ResultScreen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not pilot.app.is_running)
    assert pilot.app.return_code != 0
