"""The language a person reads: which one, and the translated sentence for a message.

The catalogs are gettext's, compiled into `locale/<language>/LC_MESSAGES/otp-tui.mo` inside this
package (the `.po` sources lie beside them). English is the language of the code itself, so it
needs no catalog, and a language with none falls back to it without a word.

One language holds for the whole process, chosen once at start (`use_language`): the screens,
the plain line mode, the messages on stderr and the mail all read alike. Everything a machine
reads (`--json`, exit statuses, the audit trail, syslog) stays in the code's own words.

Only the shipped catalogs are ever read: the language comes from a setting or the environment,
and in the gate the environment is the gated user's, so a name from there is matched against
the tags that exist here and never turned into a path.
"""

from __future__ import annotations

import gettext as _gettext
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

DOMAIN = "otp-tui"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SOURCE_LANGUAGE = "en"

# A language tag as a setting or a locale name spells it once its encoding and modifier are cut
# off ("de", "de_DE", "pt-BR", "zh_Hant_TW"): letters and digits only, so never a path.
_TAG = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}")
# The locale variables in the order gettext reads them. LC_ALL, LC_MESSAGES and LANG name one
# locale each; LANGUAGE is a colon-separated list of preferences.
_LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")
# The locales that mean "no translation" (GNU gettext ignores LANGUAGE under them too).
_UNTRANSLATED = frozenset({"C", "POSIX"})

_active: _gettext.NullTranslations = _gettext.NullTranslations()
_active_tag = SOURCE_LANGUAGE


@cache  # the package's files do not change while it runs; asked twice at every start
def shipped() -> tuple[str, ...]:
    """The languages with a compiled catalog in this package, English first."""
    found = sorted(
        path.parent.parent.name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")
    )
    return (SOURCE_LANGUAGE, *found)


def _tag_of(name: str) -> str | None:
    """`de_DE` from `de_DE.UTF-8@euro`; None for anything that is not a language tag."""
    bare = name.split(".", 1)[0].split("@", 1)[0].strip()
    return bare if _TAG.fullmatch(bare) else None


def _candidates(tag: str) -> list[str]:
    """`pt_BR` then `pt`: the specific catalog first, then the language's own."""
    parts = re.split(r"[-_]", tag)
    found = []
    for size in range(len(parts), 0, -1):
        found.append("_".join([parts[0].lower(), *parts[1:size]]))
    return found


def requested(configured: str | None, environ: Mapping[str, str]) -> list[str]:
    """The language tags asked for, best first: the setting, else the locale variables."""
    if configured:
        return [configured]
    locale = next((environ[name] for name in _LOCALE_VARIABLES if environ.get(name)), "")
    if locale.split(".", 1)[0].split("@", 1)[0] in _UNTRANSLATED:  # C, C.UTF-8, POSIX
        return []
    preferences = environ.get("LANGUAGE", "").split(":") if environ.get("LANGUAGE") else []
    return [*preferences, locale] if locale else preferences


def choose(configured: str | None, environ: Mapping[str, str]) -> str:
    """The first language asked for that this package speaks, else English."""
    available = shipped()
    for name in requested(configured, environ):
        tag = _tag_of(name)
        if tag is None:
            continue
        for candidate in _candidates(tag):
            if candidate == SOURCE_LANGUAGE or candidate in available:
                return candidate
    return SOURCE_LANGUAGE


def use_language(tag: str) -> None:
    """Speak `tag` from now on (a shipped tag from `choose`; anything else means English)."""
    global _active, _active_tag
    if tag == _active_tag:  # the start chooses twice (before and after the config): read once
        return
    path = LOCALE_DIR / tag / "LC_MESSAGES" / f"{DOMAIN}.mo"
    if tag != SOURCE_LANGUAGE and _TAG.fullmatch(tag) and path.is_file():
        with path.open("rb") as catalog:
            _active, _active_tag = _gettext.GNUTranslations(catalog), tag
    else:
        _active, _active_tag = _gettext.NullTranslations(), SOURCE_LANGUAGE


def current() -> str:
    """The tag of the language in use: `en`, `de`, ..."""
    return _active_tag


def _(message: str) -> str:
    """`message` in the language in use."""
    return _active.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form of a sentence for `count` (the caller formats `{count}` into it)."""
    return _active.ngettext(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    """`message` where the same English word needs different translations (`context` tells)."""
    return _active.pgettext(context, message)


def N_(message: str) -> str:
    """Marks `message` for translation where it is defined; `_` translates it where it is shown."""
    return message
