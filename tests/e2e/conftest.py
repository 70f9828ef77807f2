"""Fixtures for the end-to-end tests; the machinery is in `pty_harness`.

``otp_home``
    A temporary HOME with XDG config/state/data/cache directories inside it, and the
    environment that points the program at them: nothing touches the real home, and no
    ``OTP_TUI_*`` variable from outside leaks in.

``terminal``
    A factory: ``term = terminal("--json")`` starts ``python -m otp_tui ARGS`` in a fresh
    pseudo-terminal with ``otp_home``'s environment (see `pty_harness.Terminal`). Every process
    started is killed at teardown, and the test fails if one was still running then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from pty_harness import OTP_TUI, OtpHome, Terminal


@pytest.fixture
def otp_home(tmp_path: Path) -> OtpHome:
    return OtpHome.create(tmp_path / "home")


@pytest.fixture
def terminal(otp_home: OtpHome) -> Iterator[Callable[..., Terminal]]:
    started: list[Terminal] = []

    def start(
        *args: str,
        size: tuple[int, int] = (80, 24),
        stdout_file: Path | None = None,
        env: dict[str, str] | None = None,
        argv: Sequence[str] = OTP_TUI,
        controlling: bool = True,
    ) -> Terminal:
        term = Terminal(
            [*argv, *args],
            env or otp_home.env,
            size=size,
            stdout_file=stdout_file,
            controlling=controlling,
        )
        started.append(term)
        return term

    yield start
    leftovers = []
    for term in started:
        if term.process.poll() is None:
            leftovers.append(term.pid)
        term.kill()
    assert not leftovers, f"processes still running at teardown: {leftovers}"
