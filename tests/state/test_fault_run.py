"""The checks the fault tests make of their runs (fault_run.py) catch what they are there for:
a count that went down, two guesses told one count, a send or a lock that vanished."""

from __future__ import annotations

import pytest
from fault_run import counts_only_rise, nothing_went_down


def test_counts_that_rise_pass_even_when_calls_overlap() -> None:
    counts_only_rise([[0.0, 1.0, 1], [0.5, 2.0, 3], [0.6, 1.5, 2], [2.5, 3.0, 4]])


@pytest.mark.parametrize(
    "calls",
    [
        # Told 2 after another call, ended before it began, had been told 3: a count was lost.
        [[0.0, 1.0, 3], [2.0, 3.0, 2]],
        # Two guesses told the same count: one of them was not counted.
        [[0.0, 1.0, 1], [0.5, 1.5, 1]],
    ],
)
def test_a_count_that_went_down_is_caught(calls: list[list[float]]) -> None:
    with pytest.raises(AssertionError):
        counts_only_rise(calls)


def test_nothing_went_down_catches_a_lower_count_a_lost_send_or_key() -> None:
    before = {"s": (3.0, 100.0), "sends": {b"a", b"b"}}
    nothing_went_down(before, {"s": (4.0, 100.0), "sends": {b"a", b"b", b"c"}})
    for after in (
        {"s": (2.0, 100.0), "sends": {b"a", b"b"}},
        {"s": (3.0, 0.0), "sends": {b"a", b"b"}},
        {"s": (3.0, 100.0), "sends": {b"a"}},
        {"sends": {b"a", b"b"}},
    ):
        with pytest.raises(AssertionError):
            nothing_went_down(before, after)
