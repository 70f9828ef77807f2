"""Every screen state as an SVG, at 80x24, and the address and code screens at 60x15.

Deterministic: a fixed code, clocks that move only when the test says, no animations, no
cursor blink, a fixed origin host name. Update with `--snapshot-update` only after looking at
the report.
"""

import pytest
from tui_harness import ThreadedSmtpServer, build_app, wait_for

from otp_tui.flow.views import SendProblem
from otp_tui.tui.screens.code import CodeScreen
from otp_tui.tui.screens.outbox import OutboxScreen
from otp_tui.tui.screens.result import ResultScreen
from otp_tui.tui.screens.sending import SendingScreen

CODE = "123456"
ADDRESS = "user@example.com"
SMALL = (60, 15)


@pytest.fixture(scope="module")
def server():
    with ThreadedSmtpServer() as running:
        yield running


async def type_address(pilot, address=ADDRESS):
    await pilot.press(*address)
    await pilot.press("enter")


async def to_code_screen(pilot):
    await type_address(pilot)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CodeScreen))


def snap(snap_compare, harness, run_before=None, size=(80, 24)):
    assert snap_compare(harness.app, terminal_size=size, run_before=run_before)


def test_address_screen(snap_compare, server):
    snap(snap_compare, build_app(smtp=server.settings(), code=CODE))


def test_address_screen_small(snap_compare, server):
    snap(snap_compare, build_app(smtp=server.settings(), code=CODE), size=SMALL)


def test_address_with_a_validation_message(snap_compare, server):
    async def run_before(pilot):
        await type_address(pilot, "user@@example")
        await pilot.pause()

    snap(snap_compare, build_app(smtp=server.settings(), code=CODE), run_before)


def test_address_validation_message_small(snap_compare, server):
    async def run_before(pilot):
        await type_address(pilot, "user@@example")
        await pilot.pause()

    snap(snap_compare, build_app(smtp=server.settings(), code=CODE), run_before, size=SMALL)


def test_sending_while_the_server_stalls(snap_compare, stalled_port):
    from otp_tui.config.schema import SmtpSettings

    smtp = SmtpSettings(host="127.0.0.1", port=stalled_port, security="none", timeout=30)
    harness = build_app(smtp=smtp, code=CODE)

    async def run_before(pilot):
        await type_address(pilot)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SendingScreen))
        harness.clock.advance(3)
        pilot.app.tick()
        await pilot.pause()

    snap(snap_compare, harness, run_before)


def test_send_failed_with_retry(snap_compare, closed_port):
    from otp_tui.config.schema import SmtpSettings

    smtp = SmtpSettings(host="127.0.0.1", port=closed_port, security="none", timeout=5)
    harness = build_app(smtp=smtp, code=CODE)

    async def run_before(pilot):
        await type_address(pilot)
        await wait_for(
            pilot, lambda: isinstance(getattr(pilot.app.screen, "view", None), SendProblem)
        )

    snap(snap_compare, harness, run_before)


def test_code_screen(snap_compare, server):
    snap(snap_compare, build_app(smtp=server.settings(), code=CODE), to_code_screen)


def test_code_screen_small(snap_compare, server):
    snap(snap_compare, build_app(smtp=server.settings(), code=CODE), to_code_screen, size=SMALL)


def test_code_screen_after_a_wrong_code(snap_compare, server):
    async def run_before(pilot):
        await to_code_screen(pilot)
        await pilot.press(*"654321")
        await pilot.pause()

    snap(snap_compare, build_app(smtp=server.settings(), code=CODE), run_before)


def test_code_screen_after_a_wrong_code_small(snap_compare, server):
    async def run_before(pilot):
        await to_code_screen(pilot)
        await pilot.press(*"654321")
        await pilot.pause()

    snap(snap_compare, build_app(smtp=server.settings(), code=CODE), run_before, size=SMALL)


def test_code_screen_resend_ready(snap_compare, server):
    harness = build_app(smtp=server.settings(), code=CODE)

    async def run_before(pilot):
        await to_code_screen(pilot)
        harness.clock.advance(61)
        pilot.app.tick()
        await pilot.pause()

    snap(snap_compare, harness, run_before)


def test_code_screen_expired(snap_compare, server):
    harness = build_app(smtp=server.settings(), code=CODE)

    async def run_before(pilot):
        await to_code_screen(pilot)
        harness.clock.advance(600)
        pilot.app.tick()
        await pilot.pause()

    snap(snap_compare, harness, run_before)


def test_code_screen_with_a_locked_masked_address(snap_compare, server):
    harness = build_app(smtp=server.settings(), code=CODE, email="alice@example.com")

    async def run_before(pilot):
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CodeScreen))

    snap(snap_compare, harness, run_before)


def test_code_screen_ansi_dark_theme(snap_compare, server):
    harness = build_app(smtp=server.settings(), code=CODE)

    async def run_before(pilot):
        pilot.app.theme = "ansi-dark"
        await to_code_screen(pilot)
        await pilot.press(*"654321")
        await pilot.pause()

    snap(snap_compare, harness, run_before)


def test_result_verified(snap_compare, server):
    async def run_before(pilot):
        await to_code_screen(pilot)
        await pilot.press(*CODE)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResultScreen))

    snap(snap_compare, build_app(smtp=server.settings(), code=CODE), run_before)


def test_result_locked(snap_compare, server):
    async def run_before(pilot):
        await to_code_screen(pilot)
        await pilot.press(*"654321")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResultScreen))

    harness = build_app(smtp=server.settings(), code=CODE, policy={"max_attempts": 1})
    snap(snap_compare, harness, run_before)


def test_result_expired(snap_compare, server):
    harness = build_app(smtp=server.settings(), code=CODE, policy={"max_resends": 0})

    async def run_before(pilot):
        await to_code_screen(pilot)
        harness.clock.advance(600)
        pilot.app.tick()
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResultScreen))

    snap(snap_compare, harness, run_before)


def test_demo_address_screen(snap_compare, tmp_path):
    snap(snap_compare, build_app(demo=True, outbox_dir=tmp_path / "outbox", code=CODE))


def test_demo_outbox_viewer(snap_compare, tmp_path):
    async def run_before(pilot):
        await to_code_screen(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, OutboxScreen))

    harness = build_app(demo=True, outbox_dir=tmp_path / "outbox", code=CODE)
    snap(snap_compare, harness, run_before)
