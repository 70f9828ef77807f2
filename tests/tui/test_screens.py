"""The screens forgive what people do at a login prompt, and tell the truth about their keys.

Each test is one thing a new user tripped over; all run against a real SMTP server on loopback
with the clocks in the test's hands.
"""

from __future__ import annotations

from textual import events
from tui_harness import build_app, code_in, wait_for

from otp_tui.tui.screens.address import AddressScreen
from otp_tui.tui.screens.code import CodeScreen
from otp_tui.tui.screens.help import HelpScreen
from otp_tui.tui.screens.result import GRACE, ResultScreen
from otp_tui.tui.widgets.code_entry import CodeEntry
from otp_tui.tui.widgets.key_bar import KeyBar

ADDRESS = "user@example.com"
SIZE = (80, 24)


def text_of(app, selector):
    return str(app.screen.query_one(selector).render())


def key_bar(app):
    return str(app.screen.query_one(KeyBar).render())


async def to_code(pilot, server, address=ADDRESS, count=1):
    await pilot.press(*address)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(server.received) >= count)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CodeScreen))
    return code_in(server.received[-1].message)


def wrong(code):
    return "".join("1" if c == "0" else "0" for c in code)


async def test_the_enter_after_the_last_digit_leaves_verified_on_screen(smtp_server):
    server = await smtp_server()
    harness = build_app(smtp=server.settings())
    app = harness.app
    async with app.run_test(size=SIZE) as pilot:
        code = await to_code(pilot, server)
        await pilot.press(*code, "enter")  # the reflex Enter, right after the code
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ResultScreen)
        assert app.return_code is None  # still showing "Verified"
        harness.clock.advance(GRACE)
        await pilot.press("enter")  # a deliberate key, once it has been seen
        await pilot.pause()
    assert app.return_code == 0


async def test_an_enter_after_a_wrong_code_keeps_the_answer_and_costs_nothing(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        code = await to_code(pilot, server)
        await pilot.press(*wrong(code), "enter")
        await wait_for(pilot, lambda: "Wrong code" in text_of(app, "#feedback"))
        await pilot.press("enter")
        await pilot.pause()
        assert text_of(app, "#feedback") == "Wrong code: 4 attempts left."
        assert app.run_.tick() is not None
        status = app.run_._machine.status()
        assert status.wrong_attempts == 1  # the Enter was no second guess
        await pilot.press("1")  # typing again clears the answer
        await pilot.pause()
        assert text_of(app, "#feedback") == ""


async def test_a_seventh_digit_typed_at_once_is_kept_for_the_next_try(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        code = await to_code(pilot, server)
        # Seven keys in one burst, as a terminal delivers a fast typist's keys: all of them
        # are read before the first six are answered.
        for key in (*wrong(code), "7"):
            app.post_message(events.Key(key, key))
        await wait_for(pilot, lambda: "Wrong code" in text_of(app, "#feedback"))
        assert app.screen.query_one(CodeEntry).value == "7"
        assert text_of(app, "#feedback") == "Wrong code: 4 attempts left."


async def test_escape_then_the_same_address_returns_to_the_code_already_held(smtp_server):
    server = await smtp_server()
    harness = build_app(smtp=server.settings())
    app = harness.app
    async with app.run_test(size=SIZE) as pilot:
        code = await to_code(pilot, server)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AddressScreen))
        harness.clock.advance(108)
        await pilot.press("enter")  # the address is still in the entry
        await wait_for(pilot, lambda: isinstance(app.screen, CodeScreen))
        assert text_of(app, "#feedback") == "You already have a code; it expires in 8:12."
        assert len(server.received) == 1  # nothing was sent
        await pilot.press(*code)
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        assert "Verified" in text_of(app, "#headline")


async def test_a_fixed_address_offers_no_change_of_address(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings(), email=ADDRESS).app
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CodeScreen))
        assert "Change address" not in key_bar(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CodeScreen)


async def test_the_address_key_bar_names_enter_and_how_to_quit(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        bar = key_bar(app)
        assert "⏎ Send code" in bar
        assert "ctrl+q Quit" in bar  # Escape never quits: it is not offered as a way out
        assert "esc" not in bar
        assert bar.count("Quit") == 1
        assert "^" not in bar  # one notation: "ctrl+o", as the sentences write it


async def test_a_resend_says_that_earlier_codes_no_longer_work(smtp_server):
    server = await smtp_server()
    harness = build_app(smtp=server.settings())
    app = harness.app
    async with app.run_test(size=SIZE) as pilot:
        await to_code(pilot, server)
        harness.clock.advance(60)
        app.tick()
        await pilot.pause()
        assert app.screen.check_action("resend", ()) is True
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(server.received) == 2)
        await wait_for(pilot, lambda: "New code sent" in text_of(app, "#feedback"))
        assert "earlier codes no longer work" in text_of(app, "#feedback")


async def test_the_address_error_goes_when_the_person_starts_to_fix_it(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: text_of(app, "#address-error") != "")
        assert text_of(app, "#address-error") == "Type your email address."
        await pilot.press(*"bob", "enter")
        await wait_for(pilot, lambda: "@-sign" in text_of(app, "#address-error"))
        await pilot.press("@")
        await pilot.pause()
        assert text_of(app, "#address-error") == ""


async def test_an_expired_code_is_said_once(smtp_server):
    server = await smtp_server()
    harness = build_app(smtp=server.settings())
    app = harness.app
    async with app.run_test(size=SIZE) as pilot:
        code = await to_code(pilot, server)
        harness.clock.advance(601)
        await pilot.press(*code)
        await wait_for(pilot, lambda: "expired" in text_of(app, "#countdown"))
        await pilot.pause()
        assert text_of(app, "#feedback") == ""


async def test_a_pasted_sentence_enters_its_code_and_junk_is_refused_aloud(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        code = await to_code(pilot, server)
        entry = app.screen.query_one(CodeEntry)
        entry.post_message(events.Paste("Your mail says nothing useful"))
        await wait_for(pilot, lambda: "paste" in text_of(app, "#feedback"))
        entry.post_message(events.Paste(f"Your verification code is {code}."))
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        assert "Verified" in text_of(app, "#headline")


async def test_f1_shows_the_keys_and_the_limits_and_escape_closes_it(tmp_path):
    app = build_app(demo=True, outbox_dir=tmp_path / "outbox").app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        keys = text_of(app, "#help-keys")
        assert "Email a one-time code to this address" in keys
        assert "ctrl+o" in keys
        limits = text_of(app, "#help-limits")
        assert "5 wrong codes lock the address for 15 minutes" in limits
        assert "Demo mode" in text_of(app, "#help-demo")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, AddressScreen)


async def test_a_question_mark_is_typed_not_a_help_key(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"a?b")
        await pilot.pause()
        assert app.screen.query_one("#address").value == "a?b"


async def test_a_terminal_too_small_gets_one_line_saying_how_large(smtp_server):
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=(30, 8)) as pilot:
        await pilot.pause()
        assert app.screen.has_class("-too-small")
        assert text_of(app, "#too-small") == "Make the terminal at least 40x12 (it is 30x8)."
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not app.screen.has_class("-too-small")


async def test_at_40x12_the_key_bar_keeps_every_key(tmp_path):
    app = build_app(demo=True, outbox_dir=tmp_path / "outbox").app
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        bar = key_bar(app)
        assert "Read mail" in bar
        assert "Help" in bar


async def test_the_linux_console_gets_borders_its_fonts_can_draw(smtp_server, monkeypatch):
    monkeypatch.setenv("TERM", "linux")
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.export_screenshot()
        for glyph in "▊▎▔▁⏎":
            assert glyph not in screen
        assert "enter Send code" in key_bar(app)


async def test_a_cooldown_after_going_back_counts_down_live_and_says_what_it_covers(
    smtp_server,
):
    server = await smtp_server()
    harness = build_app(smtp=server.settings())
    app = harness.app
    async with app.run_test(size=SIZE) as pilot:
        await to_code(pilot, server)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AddressScreen))
        # The clock went back: the kept code died, and the cooldown starts again. The same
        # address must wait; the sentence says that another would not.
        harness.clock.advance(-5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "needs no wait" in text_of(app, "#address-error"))
        assert "to this address in 1:00" in text_of(app, "#address-error")
        harness.clock.advance(20)
        app.tick()
        await pilot.pause()
        assert "in 0:40" in text_of(app, "#address-error")
        harness.clock.advance(40)
        app.tick()
        await pilot.pause()
        assert text_of(app, "#address-error") == "You can ask for a code now."


async def test_a_corrected_address_is_sent_at_once(smtp_server):
    # alice@gmial.com, Enter, Escape, fix it, Enter: the fix costs no cooldown.
    server = await smtp_server()
    app = build_app(smtp=server.settings()).app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"alice@gmial.com", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CodeScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AddressScreen))
        app.screen.query_one("#address").value = "alice@gmail.com"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(server.received) == 2)
        await wait_for(pilot, lambda: isinstance(app.screen, CodeScreen))
        assert server.received[-1].rcpt_tos == ["alice@gmail.com"]


def _all_at_once(app, keys):
    """Keys as one read from the terminal delivers them: queued together, none handled yet."""
    for key in keys:
        character = {"ctrl+u": "\x15", "backspace": "\x7f", "ctrl+a": "\x01"}.get(key, key)
        app.post_message(events.Key(key, character))


async def test_editing_keys_typed_fast_act_in_the_order_typed(smtp_server):
    # An editing key (ctrl+u, backspace, ctrl+a) is a binding, which Textual runs after the key
    # has bubbled up to the app; letters typed right behind it were inserted first, then the
    # editing key acted on them: ctrl+u and "bob" left an empty field.
    server = await smtp_server()
    harness = build_app(smtp=server.settings())
    app = harness.app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"alice")
        _all_at_once(app, ["ctrl+u", "b", "o", "b"])
        await wait_for(pilot, lambda: app.screen.query_one("#address").value != "alice")
        assert app.screen.query_one("#address").value == "bob"
        _all_at_once(app, ["backspace", "x", "ctrl+a", "y"])
        await wait_for(pilot, lambda: len(app.screen.query_one("#address").value) == 4)
        assert app.screen.query_one("#address").value == "ybox"

        await pilot.press("ctrl+u", *ADDRESS)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CodeScreen))
        _all_at_once(app, ["1", "2", "backspace", "3"])
        await wait_for(pilot, lambda: len(app.screen.query_one(CodeEntry).value) == 2)
        assert app.screen.query_one(CodeEntry).value == "13"
