"""What the code screen tells a person who is looking for the mail."""

from tui_harness import build_app, wait_for

from otp_tui.tui.screens.code import CodeScreen

SIZE = (80, 24)


async def test_it_names_the_sender_and_suggests_the_spam_folder(smtp_server):
    server = await smtp_server()
    harness = build_app(smtp=server.settings(), code="123456")
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.press(*"user@example.com", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CodeScreen))
        said = str(pilot.app.screen.query_one("#sender").render())
        assert said == (
            "It comes from otp-tui tests <otp@example.com>; if it is not in your inbox, look "
            "in the spam folder."
        )


async def test_the_demo_says_nothing_of_a_spam_folder(tmp_path):
    harness = build_app(demo=True, outbox_dir=tmp_path / "outbox", code="123456")
    async with harness.app.run_test(size=SIZE) as pilot:
        await pilot.press(*"user@example.com", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CodeScreen))
        assert not pilot.app.screen.query("#sender")
