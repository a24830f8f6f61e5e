"""Search text read into a small query, and that query written for FTS5 and for tsquery.

User text is never handed to an engine's query parser. `parse` reads it into words,
"phrases", OR, -exclusions and `prefix*` words (docs/search.md), made of letters and digits
only; each word is then turned into the terms the documents hold (`search.terms`) and the
query is written out with our own operators: an FTS5 MATCH expression in which every term is
a quoted string, or a tsquery literal in which every term is a quoted lexeme.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from riskatlas.search.terms import COLUMNS, fold, term

MAX_WORDS = 32  # words of a query beyond this are ignored
PREFIX_MIN = 3  # a `prefix*` needs this many characters; a shorter one is a whole word
_CHUNK_RE = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
_WORD_RE = re.compile(r"([^\W_]+)(\*?)")


@dataclass(frozen=True)
class Term:
    """One word, or a phrase of words that must appear next to each other, in order; each
    word with whether it is a prefix (`bord*`)."""

    words: tuple[tuple[str, bool], ...]

    def forms(self) -> list[tuple[tuple[str, bool], ...]]:
        """The term as each language column indexes it (English stems, Russian stems, words
        as written), without repeats: a document matches if it holds any of them."""
        out: list[tuple[tuple[str, bool], ...]] = []
        for column in COLUMNS:
            form = tuple((t, prefix and len(t) >= PREFIX_MIN)
                         for t, prefix in ((term(column, w), p) for w, p in self.words))
            if form not in out:
                out.append(form)
        return out


@dataclass
class Group:
    """Terms that must all match (`include`) and terms that must not (`exclude`)."""

    include: list[Term] = field(default_factory=list)
    exclude: list[Term] = field(default_factory=list)


def parse(q: str) -> list[Group]:
    """Read free text as a query: groups separated by OR, each an AND of its terms.

    Accepted: words; "quoted phrases" (an unclosed quote runs to the end); OR (any case) between
    terms; a leading minus to exclude a word or phrase; a `*` right after a word makes it a
    prefix. All other punctuation separates words. Groups with nothing to include are dropped,
    so the result may be empty: then nothing matches.
    """
    groups = [Group()]
    budget = MAX_WORDS
    for m in _CHUNK_RE.finditer(fold(q)):
        if m.group(2) is not None:
            negated, chunk, quoted = bool(m.group(1)), m.group(2), True
        else:
            negated, chunk, quoted = bool(m.group(3)), m.group(4), False
        if not quoted and not negated and chunk.lower() == "or":
            if groups[-1].include or groups[-1].exclude:
                groups.append(Group())
            continue
        words = tuple((w, bool(star)) for w, star in _WORD_RE.findall(chunk))[:budget]
        if not words:
            continue
        budget -= len(words)
        (groups[-1].exclude if negated else groups[-1].include).append(Term(words))
        if budget <= 0:
            break
    return [g for g in groups if g.include]


# --- FTS5 (SQLite) ---------------------------------------------------------------------------


def _fts5_form(form: tuple[tuple[str, bool], ...]) -> str:
    # Terms are letters and digits, so a quoted string never needs an escape.
    return " + ".join(f'"{t}" *' if prefix else f'"{t}"' for t, prefix in form)


def _fts5_term(t: Term) -> str:
    forms = [_fts5_form(f) for f in t.forms()]
    return forms[0] if len(forms) == 1 else "(" + " OR ".join(forms) + ")"


def fts5_query(groups: Sequence[Group]) -> str:
    """The FTS5 MATCH expression of a parsed query: every term quoted, operators ours only."""
    parts = []
    for group in groups:
        expr = "(" + " AND ".join(_fts5_term(t) for t in group.include) + ")"
        if group.exclude:
            expr = f"({expr} NOT ({' OR '.join(_fts5_term(t) for t in group.exclude)}))"
        parts.append(expr)
    return " OR ".join(parts)


# --- tsquery (PostgreSQL) --------------------------------------------------------------------


def _ts_form(form: tuple[tuple[str, bool], ...]) -> str:
    lexemes = [f"'{t}':*" if prefix else f"'{t}'" for t, prefix in form]
    return lexemes[0] if len(lexemes) == 1 else "(" + " <-> ".join(lexemes) + ")"


def _ts_term(t: Term) -> str:
    forms = [_ts_form(f) for f in t.forms()]
    return forms[0] if len(forms) == 1 else "(" + " | ".join(forms) + ")"


def tsquery(groups: Sequence[Group]) -> str:
    """The tsquery literal of a parsed query (cast with ::tsquery, so no parser normalises the
    lexemes: they are the document terms already)."""
    parts = []
    for group in groups:
        terms = [_ts_term(t) for t in group.include] + [f"!{_ts_term(t)}" for t in group.exclude]
        parts.append("(" + " & ".join(terms) + ")")
    return " | ".join(parts)
