"""The translation catalogs match the code: nothing missing, nothing stale, same placeholders,
compiled files up to date, and the compiled files inside a built wheel."""

from __future__ import annotations

import io
import string
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from otp_tui.language import DOMAIN, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = sorted(path.name for path in LOCALE_DIR.iterdir() if (path / "LC_MESSAGES").is_dir())


def code_messages() -> dict[tuple[str, str | None], tuple[str, ...]]:
    """Every message the package marks, keyed by (msgid, context), with its plural if any."""
    found = {}
    keywords = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
    for _file, _line, message, _comments, context in extract_from_dir(
        str(ROOT / "otp_tui"), keywords=keywords, comment_tags=("TRANSLATORS:",)
    ):
        forms = message if isinstance(message, tuple) else (message,)
        found[(forms[0], context)] = forms
    return found


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def plain(value):
    """Babel gives plural forms as tuples from a .po and lists from a .mo: compare as tuples."""
    return tuple(value) if isinstance(value, list | tuple) else value


def catalog(language: str):
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        return read_po(po)


def test_german_is_shipped():
    assert "de" in LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_in_the_code_is_translated_and_none_is_stale(language):
    wanted = code_messages()
    translated = {}
    for message in catalog(language):
        if not message.id:
            continue
        singular = message.id[0] if isinstance(message.id, tuple) else message.id
        translated[(singular, message.context)] = message
    missing = [key for key in wanted if key not in translated]
    stale = [key for key in translated if key not in wanted]
    empty = [
        key
        for key, message in translated.items()
        if not all(message.string if isinstance(message.string, tuple) else [message.string])
    ]
    assert not missing, f"{language}: no entry for {missing[:5]}"
    assert not stale, f"{language}: entries the code no longer has: {stale[:5]}"
    assert not empty, f"{language}: untranslated: {empty[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders(language):
    for message in catalog(language):
        if not message.id or message.context == "strftime":
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for index, text in enumerate(strings):
            original = ids[min(index, len(ids) - 1)]
            assert fields(text) == fields(original), (language, original, text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_time_patterns_use_numeric_fields_only(language):
    # Month and day names would come out in English: the C locale's, whatever the language.
    for message in catalog(language):
        if message.context == "strftime":
            directives = {message.string[i + 1] for i, c in enumerate(message.string) if c == "%"}
            assert directives <= set("dmyYHIMSpZ%"), (language, message.string)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_is_the_source_compiled(language):
    source = {(plain(m.id), m.context): plain(m.string) for m in catalog(language) if m.id}
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as mo:
        compiled = {(plain(m.id), m.context): plain(m.string) for m in read_mo(mo) if m.id}
    assert compiled == source, "run pybabel compile (see the README's Languages section)"


def test_a_wheel_carries_the_compiled_catalogs(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("otp_tui-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for language in LANGUAGES:
        assert f"otp_tui/language/locale/{language}/LC_MESSAGES/{DOMAIN}.mo" in names
    # And it reads: the German for a sentence every run shows.
    data = zipfile.ZipFile(wheel).read(f"otp_tui/language/locale/de/LC_MESSAGES/{DOMAIN}.mo")
    strings = {plain(m.id): plain(m.string) for m in read_mo(io.BytesIO(data))}
    assert strings["Verified"] == "Bestätigt"
