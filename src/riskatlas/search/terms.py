"""Words as both databases index and search them, produced by our code, not by the engines.

A document is stored as three lists of *terms*, one per language column: the text is folded
(NFC, ё→е), cut into runs of letters and digits, lower-cased, stripped of Latin diacritics and
stemmed with Snowball (PyStemmer: the algorithms PostgreSQL's `english` and `russian`
configurations use) for English and Russian; other languages keep the words as written. The
engines only store and match these terms (SQLite: FTS5 with the `ascii` tokenizer, which leaves
them whole; PostgreSQL: a tsvector written out by us), so both see exactly the same tokens at
exactly the same positions, and a query parsed by `search.query` with the same functions finds
exactly the same records on both.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import Stemmer

COLUMNS = ("en", "ru", "other")  # search_documents.text_en, text_ru, text_other
MAX_WORD = 60  # characters of a word that count (longer words are cut, in texts and queries)
# PostgreSQL's tsvector keeps positions up to 16,383 and at most 1 MB of lexemes: documents are
# cut where either would be exceeded, on both databases alike, so both index the same terms.
MAX_POSITIONS = 16_383
MAX_LEXEME_BYTES = 1_000_000
_COLUMN_GAP = 1  # positions left free between columns: no phrase runs from one into the next

_WORD = re.compile(r"[^\W_]+")  # letters and digits: everything else separates words
_STEMMERS = {"en": Stemmer.Stemmer("english"), "ru": Stemmer.Stemmer("russian")}
_CACHE_LIMIT = 200_000
_cache: dict[str, dict[str, str]] = {column: {} for column in COLUMNS}


def fold(text: str) -> str:
    """NFC, and ё→е (Russian texts write either; PostgreSQL's own Russian stemmer folds it)."""
    if not unicodedata.is_normalized("NFC", text):  # the check is far cheaper than the fix
        text = unicodedata.normalize("NFC", text)
    return text.replace("ё", "е").replace("Ё", "Е")


def _plain(word: str) -> str:
    """Lower case, Latin diacritics removed (é→e, ş→s; й, ї and other letters stay)."""
    word = word.lower()
    if word.isascii():
        return word[:MAX_WORD]
    out: list[str] = []
    latin = False
    for char in unicodedata.normalize("NFD", word):
        if unicodedata.combining(char):
            if not latin:
                out.append(char)
            continue
        latin = char.isascii() or "LATIN" in unicodedata.name(char, "")
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))[:MAX_WORD]


def term(column: str, word: str) -> str:
    """The indexed form of one word (letters and digits only) in a language column."""
    cache = _cache[column]
    found = cache.get(word)
    if found is None:
        found = _plain(word)
        stemmer = _STEMMERS.get(column)
        if stemmer is not None:
            found = stemmer.stemWord(found) or found
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[word] = found
    return found


def words(text: str) -> list[str]:
    """The words of a text as a query reads them (folded, not yet lower-cased or stemmed)."""
    return _WORD.findall(fold(text))


def column_terms(column: str, texts: Iterable[str]) -> list[str]:
    return [term(column, w) for text in texts for w in _WORD.findall(fold(text))]


def texts_by_column(values: Iterable[Any]) -> dict[str, list[str]]:
    """Multilingual texts ({lang: text}, or lists of them) grouped into the three columns:
    English, Russian, and every other language in the order of its language code."""
    by_lang: dict[str, list[str]] = {}
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            for lang, text in (item or {}).items():
                if text:
                    by_lang.setdefault(lang, []).append(str(text))
    other = [t for lang in sorted(by_lang) if lang not in ("en", "ru") for t in by_lang[lang]]
    return {"en": by_lang.get("en", []), "ru": by_lang.get("ru", []), "other": other}


def bounded(columns: Sequence[list[str]]) -> list[list[str]]:
    """The columns' terms cut where a PostgreSQL tsvector would overflow (see MAX_POSITIONS),
    so that SQLite indexes exactly what PostgreSQL can."""
    position, size = 0, 0
    seen: set[str] = set()
    out: list[list[str]] = []
    for terms in columns:
        if position + len(terms) <= MAX_POSITIONS and size + 4 * sum(map(len, terms)) < \
                MAX_LEXEME_BYTES:  # the common case: nothing to count term by term
            out.append(terms)
            seen.update(terms)
            position += len(terms) + _COLUMN_GAP
            size += 4 * sum(map(len, terms))
            continue
        kept: list[str] = []
        for t in terms:
            new = t not in seen
            cost = len(t.encode()) if new else 0
            if position >= MAX_POSITIONS or size + cost > MAX_LEXEME_BYTES:
                break
            kept.append(t)
            seen.add(t)
            position += 1
            size += cost
        out.append(kept)
        position += _COLUMN_GAP
    return out


def tsvector(columns: Sequence[list[str]]) -> str:
    """The tsvector literal of bounded columns: each term with its positions, numbered through
    the columns with a gap between them (as FTS5 matches a phrase within one column only).

    Terms are letters and digits only, so quoting never needs an escape. PostgreSQL keeps a
    term's first 256 positions; ranks there count no more occurrences than that."""
    positions: dict[str, list[int]] = {}
    position = 0
    for terms in columns:
        for t in terms:
            position += 1
            positions.setdefault(t, []).append(position)
        position += _COLUMN_GAP
    return " ".join(f"'{t}':{','.join(map(str, p[:256]))}" for t, p in positions.items())
