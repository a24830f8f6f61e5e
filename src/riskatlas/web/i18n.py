"""Languages of the pages: message catalogs, the reader's language, dates and numbers.

Translations are gettext catalogs kept as `.po` files under `web/locale/<lang>/LC_MESSAGES/`,
one file per area (`pages.po`, `catalog.po`, ...); every file of a language is read once at
start with Babel and merged, so no compiled `.mo` file is kept in the repository and a new
language is a new folder, not a code change. A message with no translation falls back to the
English text it is written in.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"


@cache
def available() -> tuple[str, ...]:
    """English (the source language) and every language with a catalog folder."""
    found = sorted(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES").is_dir()) \
        if LOCALE_DIR.is_dir() else []
    return (DEFAULT, *[lang for lang in found if lang != DEFAULT])


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """All catalogs of one language merged; the identity for English or an unknown language."""
    if lang == DEFAULT or lang not in available():
        return gettext.NullTranslations()
    merged: Translations | None = None
    for path in sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        part = Translations(buffer)
        merged = part if merged is None else merged.merge(part)
    return merged or gettext.NullTranslations()


def choose(query: str | None, account: str | None, accept_language: str | None) -> str:
    """The page language: `?lang=`, else the account's setting, else Accept-Language, else
    English. Only languages this server has are chosen."""
    langs = available()
    for wanted in (query, account):
        if wanted and wanted.lower() in langs:
            return wanted.lower()
    if accept_language:
        preferred = [part.split(";")[0].strip().replace("-", "_")
                     for part in accept_language.split(",") if part.strip()]
        found = negotiate_locale(preferred, list(langs), sep="_")
        if found:
            return found.split("_")[0].lower()
    return DEFAULT


@cache
def locale(lang: str) -> Locale:
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT)


def direction(lang: str) -> str:
    """`rtl` for right-to-left scripts (Arabic), else `ltr`."""
    return "rtl" if locale(lang).character_order == "right-to-left" else "ltr"


@cache
def native_name(lang: str) -> str:
    """A language named in itself, capitalised: `English`, `Русский`, `Қазақ тілі`."""
    name = locale(lang).get_display_name(lang) or lang
    return name[:1].upper() + name[1:]
