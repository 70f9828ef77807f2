"""The ending signals' handlers (`otp_tui.terminal.signals`) in a small program of their own:
whatever the event loop is doing, an ending signal records the ending and the process is gone
within the exit deadline, with the signal's status."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

# A stand-in front end. `stuck` says how it fails to end: "shutdown" never finishes ending once
# asked; "loop" keeps the event loop busy in one callback for ever, so no loop callback (the
# orderly end, or a handler added with `loop.add_signal_handler`) ever runs.
_APP = """
import asyncio, sys, time
from otp_tui.terminal.signals import install_signal_handlers

stuck = sys.argv[1]

class Stuck:
    def record_ending(self, reason):
        print("recorded", reason, flush=True)

    def end_from_signal(self, reason):
        print("asked to end", flush=True)  # and then never does

    def call_next(self, callback, *args):
        pass

def busy():
    print("busy", flush=True)
    while True:
        time.sleep(0)  # Python code, for ever, without returning to the loop

async def main():
    install_signal_handlers(Stuck(), deadline=float(sys.argv[2]))
    print("ready", flush=True)
    if stuck == "loop":
        asyncio.get_running_loop().call_soon(busy)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def run_until_signalled(
    stuck: str, deadline: float, signum: signal.Signals
) -> tuple[int, str, float]:
    with subprocess.Popen(
        [sys.executable, "-c", _APP, stuck, str(deadline)],
        stdout=subprocess.PIPE,
        text=True,
    ) as app:
        try:
            assert app.stdout is not None
            assert app.stdout.readline() == "ready\n"
            if stuck == "loop":
                assert app.stdout.readline() == "busy\n"
            sent_at = time.monotonic()
            app.send_signal(signum)
            status = app.wait(timeout=10)
            took = time.monotonic() - sent_at
            return status, app.stdout.read(), took
        finally:
            app.kill()


def test_the_exit_deadline_ends_a_run_whose_shutdown_hangs() -> None:
    status, said, took = run_until_signalled("shutdown", 0.5, signal.SIGHUP)
    assert status == 129
    assert said == "recorded hangup\nasked to end\n"
    assert took < 2


@pytest.mark.parametrize(
    ("signum", "status", "reason"),
    [
        (signal.SIGHUP, 129, "hangup"),
        (signal.SIGTERM, 143, "terminated"),
        (signal.SIGINT, 130, "interrupted"),
    ],
)
def test_an_ending_signal_ends_a_run_whose_loop_never_comes_back_within_a_second(
    signum: signal.Signals, status: int, reason: str
) -> None:
    from otp_tui.terminal.signals import EXIT_DEADLINE

    code, said, took = run_until_signalled("loop", EXIT_DEADLINE, signum)
    print(f"{signum.name} with the loop busy: ended in {took:.2f} s")
    assert code == status
    assert said == f"recorded {reason}\n"  # the loop never got to ask for the orderly end
    assert took < 1.0


def test_the_handlers_are_put_back_when_removed() -> None:
    import asyncio

    from otp_tui.result import RunResult
    from otp_tui.terminal.signals import install_signal_handlers

    class Quiet:
        def record_ending(self, reason: object) -> RunResult:
            raise AssertionError("no signal arrives in this test")

        def end_from_signal(self, reason: object) -> None: ...
        def call_next(self, callback: object, *args: object) -> None: ...

    async def install_and_remove() -> None:
        remove = install_signal_handlers(Quiet())
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN)
        remove()

    before = signal.getsignal(signal.SIGTERM)
    asyncio.run(install_and_remove())
    assert signal.getsignal(signal.SIGTERM) is before
