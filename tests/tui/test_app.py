"""Journeys through the app with Pilot, against real SMTP servers on loopback.

The tests read the code out of the message the server received, as a user reads their mail,
and move the machine's clock by hand instead of sleeping.
"""

import asyncio

import pytest
from fakes import FakeClock
from textual import events
from tui_harness import build_app, code_in, wait_for

from otp_tui.core.limits import MemoryLedger
from otp_tui.flow.views import SendProblem
from otp_tui.tui.screens.address import AddressScreen
from otp_tui.tui.screens.code import CodeScreen
from otp_tui.tui.screens.outbox import OutboxScreen
from otp_tui.tui.screens.result import GRACE, ResultScreen
from otp_tui.tui.screens.sending import SendingScreen
from otp_tui.tui.widgets.code_entry import CodeEntry

ADDRESS = "user@example.com"
SIZE = (80, 24)


def text_of(app, selector):
    return str(app.screen.query_one(selector).render())


async def submit_address(pilot, address=ADDRESS):
    await pilot.press(*address)
    await pilot.press("enter")


async def reach_code_screen(pilot, server, count=1):
    await wait_for(pilot, lambda: len(server.received) >= count)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CodeScreen))
    return code_in(server.received[-1].message)


async def quit_result(pilot):
    """Leave the result screen with Enter, as a person does once they have read it."""
    assert isinstance(pilot.app.screen, ResultScreen)
    pilot.app.run_.presentation.clock.advance(GRACE)
    await pilot.press("enter")
    await pilot.pause()


async def test_happy_path_typed_digit_by_digit(smtp_server):
    server = await smtp_server()
    harness = build_app(smtp=server.settings())
    app = harness.app
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, AddressScreen)
        await submit_address(pilot)
        code = await reach_code_screen(pilot, server)
        assert server.received[0].rcpt_tos == [ADDRESS]
        assert "Code expires in 10:00" in text_of(app, "#countdown")
        await pilot.press(*code)  # submits by itself once complete
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        assert "Verified" in text_of(app, "#headline")
        await quit_result(pilot)
    assert app.return_code == 0
    assert app.return_value.verified
    assert app.return_value.reason == "verified"
    assert app.return_value.sends == 1


@pytest.mark.parametrize("separator", ["", " ", "-"], ids=["plain", "space", "dash"])
async def test_pasted_code_in_any_usual_spelling(smtp_server, separator):
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        await submit_address(pilot)
        code = await reach_code_screen(pilot, server)
        entry = app.screen.query_one(CodeEntry)
        entry.post_message(events.Paste(f"{code[:3]}{separator}{code[3:]}\n"))
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        await quit_result(pilot)
    assert app.return_code == 0


async def test_wrong_codes_until_locked(smtp_server):
    server = await smtp_server()
    harness = build_app(smtp=server.settings(), policy={"max_attempts": 3})
    app = harness.app
    async with app.run_test(size=SIZE) as pilot:
        await submit_address(pilot)
        code = await reach_code_screen(pilot, server)
        wrong = "000000" if code != "000000" else "111111"
        await pilot.press(*wrong)
        await pilot.pause()
        assert "Wrong code: 2 attempts left." in text_of(app, "#feedback")
        assert app.screen.query_one(CodeEntry).value == ""  # the entry clears
        await pilot.press(*wrong)
        await pilot.pause()
        assert "Wrong code: 1 attempt left." in text_of(app, "#feedback")
        await pilot.press(*wrong)
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        assert "Locked" in text_of(app, "#headline")
        assert "locked until 12:15 (15 minutes)" in text_of(app, "#detail")
        await quit_result(pilot)
    assert app.return_code == 1
    assert app.return_value.reason == "locked"
    assert app.return_value.wrong_attempts == 3
    assert harness.ledger.status(ADDRESS).locked_for == 900


async def test_resend_after_the_cooldown_replaces_the_code(smtp_server):
    server = await smtp_server()
    harness = build_app(smtp=server.settings())
    app = harness.app
    async with app.run_test(size=SIZE) as pilot:
        await submit_address(pilot)
        old = await reach_code_screen(pilot, server)
        button = app.screen.query_one("#resend-button")
        assert button.disabled
        assert "Resend in 1:00" in str(button.label)
        # During the cooldown ctrl+r is shown dimmed and does nothing.
        assert app.screen.check_action("resend", ()) is None
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert len(server.received) == 1
        assert text_of(app, "#feedback") == ""
        harness.clock.advance(60)
        app.tick()
        await pilot.pause()
        assert "Resend code (3 left)" in str(app.screen.query_one("#resend-button").label)
        await pilot.press("ctrl+r")
        new = await reach_code_screen(pilot, server, count=2)
        if new == old:  # one chance in a million: the test would prove nothing
            pytest.skip("the new code happened to equal the old one")
        await pilot.press(*old)
        await pilot.pause()
        assert "Wrong code" in text_of(app, "#feedback")
        await pilot.press(*new)
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        await quit_result(pilot)
    assert app.return_code == 0
    assert app.return_value.sends == 2
    assert app.return_value.wrong_attempts == 1


async def test_expiry_points_at_resend_then_fails_when_none_is_left(smtp_server):
    server = await smtp_server()
    harness = build_app(smtp=server.settings(), policy={"max_resends": 1, "resend_cooldown": 0})
    app = harness.app
    async with app.run_test(size=SIZE) as pilot:
        await submit_address(pilot)
        await reach_code_screen(pilot, server)
        harness.clock.advance(600)
        app.tick()
        await pilot.pause()
        assert "The code has expired" in text_of(app, "#countdown")
        await pilot.press("ctrl+r")
        code = await reach_code_screen(pilot, server, count=2)
        harness.clock.advance(601)
        app.tick()
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        assert "expired" in text_of(app, "#detail")
        await quit_result(pilot)
    assert code  # the second code arrived, and it was too late for it
    assert app.return_code == 1
    assert app.return_value.reason == "expired"


async def test_escape_during_a_stalled_send_returns_at_once(silent_listener, loopback_settings):
    port = await silent_listener()
    app = build_app(smtp=loopback_settings(port, timeout=30)).app
    async with app.run_test(size=SIZE) as pilot:
        await submit_address(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, SendingScreen))
        loop = asyncio.get_running_loop()
        started = loop.time()
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AddressScreen), timeout=1.0)
        assert loop.time() - started < 1.0  # the server still stalls; the UI does not
        assert not [w for w in app.workers if w.is_running and w.group == "send"]
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 1
    assert app.return_value.reason == "cancelled"


async def test_retry_after_a_temporary_refusal(smtp_server):
    server = await smtp_server(rcpt_reply="421 4.3.2 Busy, try later")
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        await submit_address(pilot)
        await wait_for(pilot, lambda: isinstance(getattr(app.screen, "view", None), SendProblem))
        assert "temporary problem" in text_of(app, "#failure")
        assert app.screen.query_one("#retry").display
        assert not server.received
        server.handler.rcpt_reply = None  # the server recovers
        await pilot.press("r")
        code = await reach_code_screen(pilot, server)
        await pilot.press(*code)
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        await quit_result(pilot)
    assert app.return_code == 0
    assert app.return_value.sends == 1


async def test_a_failure_retrying_cannot_help_offers_only_back(smtp_server):
    server = await smtp_server(rcpt_reply="550 5.1.1 No such user")
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        await submit_address(pilot)
        await wait_for(pilot, lambda: isinstance(getattr(app.screen, "view", None), SendProblem))
        assert "will not deliver to this address" in text_of(app, "#failure")
        assert not app.screen.query_one("#retry").display
        await pilot.press("r")  # no retry: nothing happens
        await pilot.pause()
        assert len([s for s in app.screen_stack if isinstance(s, SendingScreen)]) == 1
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, AddressScreen)


async def test_locked_email_goes_straight_to_sending_and_is_masked(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings(), email="alice@example.com").app
    async with app.run_test(size=SIZE) as pilot:
        code = await reach_code_screen(pilot, server)
        assert server.received[0].rcpt_tos == ["alice@example.com"]
        shown = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "a***@example.com" in shown
        assert "alice@example.com" not in shown
        await pilot.press(*code)
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        assert "a***@example.com" in text_of(app, "#detail")
        await quit_result(pilot)
    assert app.return_code == 0
    assert app.return_value.email == "alice@example.com"


async def test_demo_outbox_viewer_lets_a_new_user_finish(tmp_path):
    app = build_app(demo=True, outbox_dir=tmp_path / "outbox").app
    async with app.run_test(size=SIZE) as pilot:
        assert "Demo mode" in text_of(app, "#demo-banner")
        await submit_address(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, CodeScreen))
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, OutboxScreen))
        mail = text_of(app, "#mail")
        code = next(line for line in mail.splitlines() if line.isdigit())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CodeScreen)
        await pilot.press(*code)
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        await quit_result(pilot)
    assert app.return_code == 0


async def test_outbox_key_does_nothing_outside_demo_mode(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        await submit_address(pilot)
        await reach_code_screen(pilot, server)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, CodeScreen)
        assert not app.screen.query("#demo-banner")


async def test_ctrl_c_is_an_interruption_never_a_success(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        await submit_address(pilot)
        await reach_code_screen(pilot, server)
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 130
    assert app.return_value.reason == "interrupted"
    assert not app.return_value.verified


async def test_invalid_address_is_explained_inline(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        await submit_address(pilot, "not-an-address")
        await pilot.pause()
        assert isinstance(app.screen, AddressScreen)
        assert "@-sign" in text_of(app, "#address-error")
        assert not server.received


async def test_an_unusable_ledger_stops_the_run_unverified(tmp_path):
    from otp_tui.config.schema import Settings, StateSettings
    from otp_tui.state.lazy import LazyLedger

    garbage = tmp_path / "ledger.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    app = build_app(
        demo=True,
        outbox_dir=tmp_path / "outbox",
        ledger=LazyLedger(Settings(state=StateSettings(ledger=garbage))),
    ).app
    async with app.run_test(size=SIZE) as pilot:
        await submit_address(pilot)
        await wait_for(pilot, lambda: app.return_code is not None)
    assert app.return_code == 2
    assert app.run_.ending is not None
    assert str(garbage) in app.run_.ending.error
    assert app.return_value is None or not app.return_value.verified
    assert garbage.read_bytes() == b"this is not a database" * 100  # not replaced


class _BrokenLedger(MemoryLedger):
    """A ledger with a bug in it: the app must end unverified, with one line and no traceback."""

    def admit_guess(self, *args, **kwargs):
        raise ZeroDivisionError("a bug")


async def test_an_unexpected_error_ends_unverified_with_one_line(smtp_server):
    server = await smtp_server()
    harness = build_app(smtp=server.settings(), ledger=_BrokenLedger(FakeClock()))
    app = harness.app

    async def journey():
        async with app.run_test(size=SIZE) as pilot:
            await submit_address(pilot)
            code = await reach_code_screen(pilot, server)
            await pilot.press(*("0" if code[0] != "0" else "1") * 6)
            await pilot.pause()

    with pytest.raises(ZeroDivisionError):  # Pilot hands the app's failure to the test
        await journey()
    assert app.return_code == 1
    assert app.error == "unexpected error (ZeroDivisionError); not verified"
    assert app._exit_renderables == []  # no traceback is printed on the way out
    assert not app.return_value.verified


async def test_ctrl_c_on_the_verified_screen_still_reports_an_interruption(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        await submit_address(pilot)
        code = await reach_code_screen(pilot, server)
        await pilot.press(*code)
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 130
    assert app.return_value.reason == "interrupted"
    assert not app.return_value.verified


async def test_escape_before_the_sending_screen_appears_cancels_and_stays(
    silent_listener, loopback_settings
):
    port = await silent_listener()
    app = build_app(smtp=loopback_settings(port, timeout=30)).app
    async with app.run_test(size=SIZE) as pilot:
        await submit_address(pilot)
        assert isinstance(app.screen, AddressScreen)  # a fast send would never leave it
        assert "Sending…" in text_of(app, "#address-error")
        await pilot.press("escape")  # cancels the send; it does not quit
        await pilot.pause()
        assert isinstance(app.screen, AddressScreen)
        assert app.return_code is None
        assert not [w for w in app.workers if w.is_running and w.group == "send"]
        await pilot.press("enter")  # the address is still there, and a send starts again
        await wait_for(pilot, lambda: isinstance(app.screen, SendingScreen))


async def test_a_fast_send_goes_straight_to_the_code_screen(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    seen = []
    async with app.run_test(size=SIZE) as pilot:
        await submit_address(pilot)
        while not isinstance(app.screen, CodeScreen):
            seen.append(type(app.screen).__name__)
            await pilot.pause(0.01)
        assert [type(s).__name__ for s in app.screen_stack] == ["AddressScreen", "CodeScreen"]
    assert "SendingScreen" not in seen


async def test_keys_typed_while_the_app_starts_reach_the_address(smtp_server):
    # Typed ahead (over SSH, straight after the command): the keys arrive as soon as the app is
    # ready, before the address screen has composed and focused its entry.
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    typed = {}

    async def type_at_once(pilot):
        await pilot.press(*"bob@example.com")
        await pilot.pause()
        entry = app.screen.query_one("#address")
        typed["value"], typed["focused"] = entry.value, app.focused is entry
        app.exit()

    await app.run_async(headless=True, size=SIZE, auto_pilot=type_at_once)
    assert typed == {"value": "bob@example.com", "focused": True}


async def test_a_paste_while_the_app_starts_reaches_the_address(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    pasted = {}

    async def paste_at_once(pilot):
        app.post_message(events.Paste("carol@example.com"))
        await pilot.pause()
        await pilot.pause()
        pasted["value"] = app.screen.query_one("#address").value
        app.exit()

    await app.run_async(headless=True, size=SIZE, auto_pilot=paste_at_once)
    assert pasted == {"value": "carol@example.com"}


async def test_a_fixed_address_screen_leaves_the_body_focused_for_scrolling(
    closed_port, loopback_settings
):
    app = build_app(smtp=loopback_settings(closed_port), email=ADDRESS).app
    async with app.run_test(size=(50, 12)) as pilot:
        await wait_for(pilot, lambda: isinstance(getattr(app.screen, "view", None), SendProblem))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AddressScreen))
        assert app.focused is app.screen.query_one("#body")


async def test_an_enter_typed_ahead_arrives_as_a_newline_and_still_sends(smtp_server):
    # Typed before the terminal leaves line mode, Enter reaches the app as "\n", i.e. ctrl+j.
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*ADDRESS, "ctrl+j")
        await reach_code_screen(pilot, server)
        assert isinstance(app.screen, CodeScreen)
