"""A shared ledger that accepts and never answers must not freeze the screen.

The ledger is a Redis URL pointing at a loopback listener that takes the connection and then
says nothing, as a hung Redis would. The test waits for that connection (so the run is stuck
inside a ledger call), then measures the keys that must still act at once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pty_harness import Terminal

ALT_SCREEN_OFF = b"\x1b[?1049l"  # Textual leaving its screen: the terminal is the user's again


class SilentRedis:
    """Accepts connections on 127.0.0.1, reads whatever comes, never writes a byte."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connected = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self._held.append(conn)
            self.connected.set()

    def close(self) -> None:
        self.listener.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def silent_redis() -> Iterator[SilentRedis]:
    server = SilentRedis()
    yield server
    server.close()


# Escape is not among them: it goes back or closes, and never ends a run.
@pytest.mark.parametrize(("key", "status"), [("\x11", 1), ("\x03", 130)])
def test_keys_answer_at_once_while_the_ledger_hangs(
    terminal: Callable[..., Terminal],
    silent_redis: SilentRedis,
    tmp_path: Path,
    key: str,
    status: int,
) -> None:
    term = terminal(
        "--set",
        f"state.ledger=redis://127.0.0.1:{silent_redis.port}/0",
        "--set",
        "state.ledger_timeout=3",
        "--json",
        stdout_file=tmp_path / "result.json",
    )
    term.expect("Verify your email address")
    term.type("stuck@example.com\r")
    assert silent_redis.connected.wait(10), "the run never reached the ledger"
    before = len(term.raw)
    pressed = time.monotonic()
    term.send(key)  # ctrl+q, ctrl+c
    while ALT_SCREEN_OFF not in term.raw[before:]:
        assert term._pump(0.05), "the terminal went away before the screen was given back"
        assert time.monotonic() - pressed < 5, "the key did nothing while the ledger hung"
    answered = time.monotonic() - pressed
    assert answered < 0.5, f"the screen answered after {answered:.2f} s"
    # The process itself ends once the hung call gives up (ledger_timeout), never verified.
    assert term.wait(timeout=20) == status
    assert term.json_line()["verified"] is False
