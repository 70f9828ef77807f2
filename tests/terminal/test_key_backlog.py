"""Keys waiting for the app are bounded (`otp_tui.terminal.key_backlog`)."""

from __future__ import annotations

import gc

from textual import events

from otp_tui.terminal.key_backlog import KEY_LIMIT, TYPING_LIMIT, KeyBacklog


def key(name: str, character: str | None = None) -> events.Key:
    return events.Key(name, character)


def test_typing_past_the_limit_is_dropped_and_a_key_that_is_gone_makes_room() -> None:
    backlog = KeyBacklog(typing_limit=3, key_limit=5)
    held = [key("1", "1") for _ in range(3)]
    assert all(backlog.admit(event) for event in held)
    late = key("2", "2")
    assert not backlog.admit(late)
    assert not backlog.admit(events.Paste("123456"))
    assert not backlog.admit(key("backspace"))
    assert backlog.waiting == 3
    del held[0]  # the app has finished with one key and let it go
    gc.collect()
    assert backlog.waiting == 2
    assert backlog.admit(late)
    assert backlog.dropped == 3


def test_keys_that_end_or_move_a_run_get_through_typing_but_are_bounded_too() -> None:
    backlog = KeyBacklog(typing_limit=2, key_limit=4)
    held = [key("1", "1"), key("2", "2")]
    assert all(backlog.admit(event) for event in held)
    quits = [key("ctrl+q"), key("escape")]
    assert all(backlog.admit(event) for event in quits)
    assert not backlog.admit(key("ctrl+q"))  # four waiting: nothing more queues
    assert backlog.waiting == 4


def test_the_limits_hold_the_longest_address_and_stay_small() -> None:
    assert 254 <= TYPING_LIMIT < KEY_LIMIT <= 1024


def test_a_paste_longer_than_any_screen_can_use_arrives_empty() -> None:
    from otp_tui.terminal.key_backlog import MAX_PASTE, bounded

    kept = events.Paste("Your code is 204913")
    assert bounded(kept) is kept
    assert bounded(events.Paste("1" * MAX_PASTE)).text == "1" * MAX_PASTE
    assert bounded(events.Paste("1" * (MAX_PASTE + 1))).text == ""
