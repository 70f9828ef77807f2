"""Every screen in German, at 80x24 and at 60x15: German runs about a third longer than
English, and each screen must still fit. Built exactly as `test_snapshots.py` builds the English
ones; update with `--snapshot-update` only after looking at the report."""

import pytest
from test_snapshots import CODE, SMALL, to_code_screen, type_address
from tui_harness import build_app, wait_for

from otp_tui.flow.views import SendProblem
from otp_tui.language import use_language
from otp_tui.tui.screens.code import CodeScreen
from otp_tui.tui.screens.help import HelpScreen
from otp_tui.tui.screens.outbox import OutboxScreen
from otp_tui.tui.screens.result import ResultScreen
from otp_tui.tui.screens.sending import SendingScreen

SIZES = pytest.mark.parametrize("size", [(80, 24), SMALL], ids=["80x24", "60x15"])


@pytest.fixture(autouse=True)
def german():
    use_language("de")
    yield
    use_language("en")


@pytest.fixture(scope="module")
def server():
    from tui_harness import ThreadedSmtpServer

    with ThreadedSmtpServer() as running:
        yield running


def snap(snap_compare, harness, run_before, size):
    assert snap_compare(harness.app, terminal_size=size, run_before=run_before)


def smtp_at(port, timeout):
    from otp_tui.config.schema import SmtpSettings

    return SmtpSettings(host="127.0.0.1", port=port, security="none", timeout=timeout)


@SIZES
def test_address(snap_compare, server, size):
    snap(snap_compare, build_app(smtp=server.settings(), code=CODE), None, size)


@SIZES
def test_address_invalid(snap_compare, server, size):
    async def run_before(pilot):
        await type_address(pilot, "user@@example")
        await pilot.pause()

    snap(snap_compare, build_app(smtp=server.settings(), code=CODE), run_before, size)


@SIZES
def test_sending(snap_compare, stalled_port, size):
    harness = build_app(smtp=smtp_at(stalled_port, 30), code=CODE)

    async def run_before(pilot):
        await type_address(pilot)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SendingScreen))
        harness.clock.advance(3)
        pilot.app.tick()
        await pilot.pause()

    snap(snap_compare, harness, run_before, size)


@SIZES
def test_send_failed(snap_compare, closed_port, size):
    harness = build_app(smtp=smtp_at(closed_port, 5), code=CODE)

    async def run_before(pilot):
        await type_address(pilot)
        await wait_for(
            pilot, lambda: isinstance(getattr(pilot.app.screen, "view", None), SendProblem)
        )

    snap(snap_compare, harness, run_before, size)


@SIZES
def test_code(snap_compare, server, size):
    snap(snap_compare, build_app(smtp=server.settings(), code=CODE), to_code_screen, size)


@SIZES
def test_code_wrong(snap_compare, server, size):
    async def run_before(pilot):
        await to_code_screen(pilot)
        await pilot.press(*"654321")
        await pilot.pause()

    snap(snap_compare, build_app(smtp=server.settings(), code=CODE), run_before, size)


def code_screen_after(harness, seconds):
    """On the code screen, once the run's clock has moved on by `seconds`."""

    async def run_before(pilot):
        await to_code_screen(pilot)
        harness.clock.advance(seconds)
        pilot.app.tick()
        await pilot.pause()

    return run_before


@SIZES
def test_code_resend_ready(snap_compare, server, size):
    harness = build_app(smtp=server.settings(), code=CODE)
    snap(snap_compare, harness, code_screen_after(harness, 61), size)


@SIZES
def test_code_expired(snap_compare, server, size):
    harness = build_app(smtp=server.settings(), code=CODE)
    snap(snap_compare, harness, code_screen_after(harness, 600), size)


@SIZES
def test_code_fixed_address(snap_compare, server, size):
    harness = build_app(smtp=server.settings(), code=CODE, email="alice@example.com")

    async def run_before(pilot):
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CodeScreen))

    snap(snap_compare, harness, run_before, size)


@SIZES
def test_help(snap_compare, server, size):
    async def run_before(pilot):
        await to_code_screen(pilot)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))

    snap(snap_compare, build_app(smtp=server.settings(), code=CODE), run_before, size)


@SIZES
def test_result_verified(snap_compare, server, size):
    async def run_before(pilot):
        await to_code_screen(pilot)
        await pilot.press(*CODE)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResultScreen))

    snap(snap_compare, build_app(smtp=server.settings(), code=CODE), run_before, size)


@SIZES
def test_result_locked(snap_compare, server, size):
    async def run_before(pilot):
        await to_code_screen(pilot)
        await pilot.press(*"654321")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResultScreen))

    harness = build_app(smtp=server.settings(), code=CODE, policy={"max_attempts": 1})
    snap(snap_compare, harness, run_before, size)


@SIZES
def test_result_expired(snap_compare, server, size):
    harness = build_app(smtp=server.settings(), code=CODE, policy={"max_resends": 0})

    async def run_before(pilot):
        await to_code_screen(pilot)
        harness.clock.advance(600)
        pilot.app.tick()
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResultScreen))

    snap(snap_compare, harness, run_before, size)


@SIZES
def test_demo_address(snap_compare, tmp_path, size):
    snap(snap_compare, build_app(demo=True, outbox_dir=tmp_path / "outbox", code=CODE), None, size)


@SIZES
def test_demo_outbox(snap_compare, tmp_path, size):
    async def run_before(pilot):
        await to_code_screen(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, OutboxScreen))

    harness = build_app(demo=True, outbox_dir=tmp_path / "outbox", code=CODE)
    snap(snap_compare, harness, run_before, size)
