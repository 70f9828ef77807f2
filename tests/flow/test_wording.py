"""Every notice a run can hand out is worded by every front end, each in its own keys' words."""

from __future__ import annotations

import math
from typing import get_args

import pytest

from otp_tui.flow import wording
from otp_tui.flow.views import Notice, NoticeKind

KINDS = [kind for kind in get_args(NoticeKind) if kind]
WALL = 1_767_268_800.0


def example(kind: NoticeKind) -> Notice:
    return Notice(kind, count=2, seconds=90.0, at=WALL, text="The server said no.")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("on_code", [False, True])
def test_each_notice_has_a_sentence_in_the_tui_and_in_the_line_mode(kind, on_code):
    tui = wording.notice(example(kind), on_code=on_code)
    plain = wording.plain_notice(example(kind), on_code=on_code)
    assert tui.strip()
    assert plain.strip()
    # The line mode has no chords and no Escape key: it never names one.
    for key in ("ctrl+", "Escape"):
        assert key not in plain


def test_the_line_mode_words_the_notices_that_name_a_tui_key_its_own_way():
    assert wording.notice(Notice("expired")) == "That code has expired. Press ctrl+r for a new one."
    assert wording.plain_notice(Notice("expired")) == "The code has expired. Type r for a new one."
    fixed = Notice("fixed_address_again")
    assert "ctrl+q" in wording.notice(fixed)  # Escape never quits
    assert wording.plain_notice(fixed) == "Press Enter to send a new code, or Ctrl+D to quit."


def test_a_cooldown_names_what_it_covers_where_it_is_said():
    cooldown = Notice("cooldown", seconds=60.0)
    assert "another address needs no wait" in wording.notice(cooldown)
    assert wording.notice(cooldown, on_code=True) == "You can ask for a new code in 1:00."


@pytest.mark.parametrize(
    ("kind", "headline"),
    [
        ("verified", "Verified"),
        ("locked", "Locked"),
        ("allowed_without_mail", "Let in without a code"),
        ("expired", "Not verified"),
        ("stopped", "Not verified"),
        ("not_allowed", "Not verified"),
        ("too_many_sends", "Not verified"),
        ("storage_failed", "Not verified"),
    ],
)
def test_each_ending_has_a_headline_and_a_detail(kind, headline):
    ending = example(kind)
    assert wording.headline(ending) == headline
    assert wording.ending_detail(ending, "u***@example.com").strip()


def test_a_lock_until_an_operator_unlocks_it_names_no_time():
    forever = Notice("locked", seconds=math.inf, at=WALL)
    assert wording.notice(forever) == "This address is locked until an operator unlocks it."
    assert "operator" in wording.ending_detail(forever, "u***@example.com")


def test_notices_that_tell_rather_than_warn_are_not_errors():
    telling = {kind for kind in KINDS if not Notice(kind).is_error}
    assert telling == {"fixed_address_again", "still_valid", "new_code"}
    assert not Notice()


def test_no_more_codes_says_it_is_this_verifications_limit() -> None:
    # A new run can send again (within the hourly limits): the sentence says what it covers.
    said = wording.notice(Notice("resends_exhausted"), on_code=True)
    assert said == "This verification can send no more codes; start it again for a new one."
