"""Which language is spoken: the setting, then the locale variables, then English."""

from __future__ import annotations

import pytest

from otp_tui import language
from otp_tui.flow import wording


@pytest.fixture(autouse=True)
def back_to_english():
    yield
    language.use_language("en")


@pytest.mark.parametrize(
    ("configured", "environ", "expected"),
    [
        (None, {}, "en"),
        (None, {"LANG": "de_DE.UTF-8"}, "de"),
        (None, {"LANG": "de_AT.UTF-8@euro"}, "de"),
        (None, {"LC_ALL": "de_DE.UTF-8", "LANG": "en_US.UTF-8"}, "de"),
        (None, {"LC_MESSAGES": "de_CH.UTF-8", "LANG": "en_GB.UTF-8"}, "de"),
        (None, {"LANGUAGE": "fr:de", "LANG": "fr_FR.UTF-8"}, "de"),  # the first one shipped
        (None, {"LANGUAGE": "en:de", "LANG": "de_DE.UTF-8"}, "en"),
        (None, {"LANGUAGE": "de", "LANG": "C"}, "en"),  # C means untranslated, as in GNU
        (None, {"LANG": "POSIX"}, "en"),
        (None, {"LANGUAGE": "de", "LANG": "C.UTF-8"}, "en"),
        (None, {"LANG": "xx_YY.UTF-8"}, "en"),  # unknown: English, no error
        ("en", {"LANG": "de_DE.UTF-8"}, "en"),  # the setting wins
        ("de", {"LANG": "en_US.UTF-8"}, "de"),
        ("de_DE", {}, "de"),
        ("xx", {"LANG": "de_DE.UTF-8"}, "en"),
        # A name that is not a language tag is never looked up, let alone as a path.
        (None, {"LANG": "../../../../tmp/evil"}, "en"),
        (None, {"LANGUAGE": "../de:de/../../x", "LANG": "C.UTF-8"}, "en"),
    ],
)
def test_choose(configured, environ, expected):
    assert language.choose(configured, environ) == expected


def test_use_language_switches_the_words_and_back():
    language.use_language("de")
    assert language.current() == "de"
    assert wording.wrong_code(1) == "Falscher Code: noch 1 Versuch."
    assert wording.wrong_code(4) == "Falscher Code: noch 4 Versuche."
    language.use_language("en")
    assert wording.wrong_code(1) == "Wrong code: 1 attempt left."
    assert wording.wrong_code(4) == "Wrong code: 4 attempts left."


def test_a_tag_without_a_catalog_means_english():
    language.use_language("../../etc")
    assert language.current() == "en"
    assert wording.verified() == "Verified"


def test_german_dates_and_times():
    import time

    now = time.mktime((2026, 12, 2, 14, 5, 0, 0, 0, -1))
    tomorrow = now + 86400
    language.use_language("de")
    assert wording.time_of_day(now, now) == "14:05"
    assert wording.time_of_day(tomorrow, now) == "03.12.2026 14:05"
    language.use_language("en")
    assert wording.time_of_day(tomorrow, now) == "2026-12-03 14:05"
