"""Popups, focus and the keys every screen shares, as a person meets them."""

import pytest
from tui_harness import build_app, code_in, wait_for

from otp_tui.tui.screens.address import AddressScreen
from otp_tui.tui.screens.code import CodeScreen
from otp_tui.tui.screens.help import HelpScreen
from otp_tui.tui.screens.outbox import OutboxScreen
from otp_tui.tui.widgets.code_entry import CodeEntry
from otp_tui.tui.widgets.key_bar import KeyBar

CODE = "123456"
ADDRESS = "user@example.com"


def demo(tmp_path, **kwargs):
    return build_app(demo=True, outbox_dir=tmp_path / "outbox", code=CODE, **kwargs)


async def to_code_screen(pilot):
    await pilot.press(*ADDRESS, "enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CodeScreen))


def seen(pilot) -> str:
    """The characters on the terminal, as a person reads them."""
    svg = pilot.app.export_screenshot()
    return svg.replace("&#160;", " ")


@pytest.mark.parametrize("popup", ["f1", "ctrl+o"])
@pytest.mark.parametrize("key", ["ctrl+q", "q"])
async def test_quit_keys_work_inside_a_popup(tmp_path, popup, key):
    harness = demo(tmp_path)
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await to_code_screen(pilot)
        await pilot.press(popup)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen | OutboxScreen))
        await pilot.press(key)
        await wait_for(pilot, lambda: not pilot.app.is_running)
    assert pilot.app.return_code == 1
    assert pilot.app.return_value is not None
    assert pilot.app.return_value.reason == "cancelled"


async def test_question_mark_is_help_except_in_an_address(tmp_path):
    harness = demo(tmp_path)
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"a?b")
        assert pilot.app.screen.query_one("#address").value == "a?b"
        assert isinstance(pilot.app.screen, AddressScreen)
        await pilot.press(*["backspace"] * 3)
        await to_code_screen(pilot)
        await pilot.press("?")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        await pilot.press("?")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CodeScreen))


async def test_tab_keeps_focus_visible_and_back_does_not_select(tmp_path):
    harness = demo(tmp_path)
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await to_code_screen(pilot)
        entry = pilot.app.screen.query_one(CodeEntry)
        await pilot.press("tab")  # the resend button is not ready: nowhere else to go
        assert pilot.app.focused is entry
        await pilot.press("1", "2")
        harness.clock.advance(60)
        pilot.app.tick()  # the resend button is ready now
        await pilot.pause()
        await pilot.press("tab")
        assert pilot.app.focused is pilot.app.screen.query_one("#resend-button")
        await pilot.press("shift+tab")
        assert pilot.app.focused is entry
        await pilot.press("3")
        assert entry.value == "123", "the digits typed before Tab were kept"


async def test_a_wrong_code_does_not_look_like_a_hint_without_colour(smtp_server, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    server = await smtp_server()
    harness = build_app(smtp=server.settings())
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await to_code_screen(pilot)
        code = code_in(server.received[-1].message)
        await pilot.press(*("1" if c == "0" else "0" for c in code))
        feedback = pilot.app.screen.query_one("#feedback")
        await wait_for(pilot, lambda: "Wrong code" in str(feedback.render()))
        hint = pilot.app.screen.query_one(".hint")
        assert feedback.rich_style.without_color != hint.rich_style.without_color


@pytest.mark.parametrize("size", [(60, 15), (40, 12)])
async def test_a_popups_key_bar_hides_the_keys_of_the_screen_below(tmp_path, size):
    harness = demo(tmp_path)
    async with harness.app.run_test(size=size) as pilot:
        await to_code_screen(pilot)
        below = pilot.app.screen.query_one(KeyBar)
        assert below.size.height == 2, "the code screen's keys take two rows here"
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        await pilot.pause()
        assert pilot.app.screen.query_one(KeyBar).size.height == 2
        assert "Change address" not in seen(pilot)
        assert "Resend" not in seen(pilot).split("Help")[-1]


async def test_the_outbox_shows_the_code_at_40x12_without_scrolling(tmp_path):
    harness = demo(tmp_path)
    async with harness.app.run_test(size=(40, 12)) as pilot:
        await to_code_screen(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, OutboxScreen))
        await pilot.pause()
        assert CODE in seen(pilot)


@pytest.mark.parametrize("term", ["linux", "vt100"])
@pytest.mark.parametrize("popup", ["f1", "ctrl+o"])
async def test_popups_on_a_console_use_no_block_glyphs(tmp_path, monkeypatch, term, popup):
    monkeypatch.setenv("TERM", term)
    harness = demo(tmp_path)
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await to_code_screen(pilot)
        await pilot.press(popup)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen | OutboxScreen))
        await pilot.pause()
        shown = seen(pilot)
        assert not set("▀▄█") & set(shown)


# -- Escape goes back or closes, and never ends a run -------------------------------------


async def test_escape_never_ends_a_run(tmp_path):
    harness = demo(tmp_path)
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await pilot.press("escape")  # on the first screen, with nothing typed
        await pilot.press("enter")  # an empty address: an error
        await pilot.pause()
        error = pilot.app.screen.query_one("#address-error")
        assert str(error.render()) != ""
        await pilot.press("escape")  # clears it
        await pilot.pause()
        assert str(error.render()) == ""
        await to_code_screen(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, OutboxScreen))
        # By habit: out of the outbox, back to the address, and once more.
        for _ in range(3):
            await pilot.press("escape")
            await pilot.pause()
        assert isinstance(pilot.app.screen, AddressScreen)
        assert pilot.app.is_running
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not pilot.app.is_running)
    assert pilot.app.return_value.reason == "cancelled"


async def test_escape_never_ends_a_run_with_a_fixed_address(closed_port, loopback_settings):
    harness = build_app(smtp=loopback_settings(closed_port), email=ADDRESS)
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await wait_for(
            pilot, lambda: "Retry" in str(pilot.app.screen.query_one("#key-bar").render())
        )
        for _ in range(3):
            await pilot.press("escape")
            await pilot.pause()
        assert isinstance(pilot.app.screen, AddressScreen)
        assert "ctrl+q to quit" in str(pilot.app.screen.query_one("#address-error").render())
        assert pilot.app.is_running
        await pilot.press("q")  # nothing is typed here: q quits
        await wait_for(pilot, lambda: not pilot.app.is_running)
    assert pilot.app.return_code == 1


# -- a key right after a popup acts on what is shown ----------------------------------------


async def test_the_screen_under_a_popup_is_current_when_it_closes(tmp_path):
    harness = demo(tmp_path)
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await to_code_screen(pilot)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        harness.clock.advance(30)
        pilot.app.tick()  # the once-a-second look at the clocks, while the popup is up
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CodeScreen))
        countdown = str(pilot.app.screen.query_one("#countdown").render())
        assert countdown == "Code expires in 9:30"
        assert str(pilot.app.screen.query_one("#resend-button").label) == "Resend in 0:30"


async def test_ctrl_r_right_after_a_popup_closes_is_not_dropped(smtp_server):
    server = await smtp_server()
    harness = build_app(smtp=server.settings())
    async with harness.app.run_test(size=(80, 24)) as pilot:
        await to_code_screen(pilot)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        harness.clock.advance(61)  # the cooldown ends while the help is up, between two looks
        await pilot.press("escape")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(server.received) == 2)
