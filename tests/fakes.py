"""Test doubles that are not mocks: a clock the test moves by hand."""

from __future__ import annotations


class FakeClock:
    """Monotonic-looking seconds that move only when a test says so; tests never sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
