"""What a subscriber wants: ``source``, ``tag``, ``lang`` and a free-text ``q``.

``q`` follows the search box's ``simple_query_string`` syntax as far as it can without an analyzer:
words must all appear (AND), ``"quoted phrases"`` appear as written, ``-word`` must not appear,
``word*`` matches a prefix and ``|`` separates alternatives. Text is case- and accent-folded; there
is no stemming, so a stream can be stricter than search ("elections" does not match "election").
"""

import re
import unicodedata
from dataclasses import dataclass, field

from newsflow_contracts import ArticleData

_WORD = re.compile(r"\w+")
_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')


def fold(text: str) -> str:
    """Lower-cased, accents removed: ``Café`` → ``cafe``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@dataclass(frozen=True)
class Clause:
    """One alternative of a query: all of ``must`` (phrases of words), none of ``must_not``."""

    must: tuple[tuple[str, ...], ...]
    must_not: tuple[tuple[str, ...], ...]
    prefixes: tuple[str, ...]

    def matches(self, text: list[str], vocabulary: frozenset[str]) -> bool:
        if any(_has_phrase(text, vocabulary, p) for p in self.must_not):
            return False
        if not all(any(w.startswith(p) for w in vocabulary) for p in self.prefixes):
            return False
        return all(_has_phrase(text, vocabulary, p) for p in self.must)


def _has_phrase(text: list[str], vocabulary: frozenset[str], phrase: tuple[str, ...]) -> bool:
    if len(phrase) == 1:
        return phrase[0] in vocabulary
    n = len(phrase)
    return any(tuple(text[i : i + n]) == phrase for i in range(len(text) - n + 1))


def parse_query(q: str) -> tuple[Clause, ...]:
    """The alternatives of ``q``; an empty query has none (and matches everything)."""
    clauses = []
    for alternative in _split_alternatives(q):
        must: list[tuple[str, ...]] = []
        must_not: list[tuple[str, ...]] = []
        prefixes: list[str] = []
        for negated, phrase, bare in _TOKEN.findall(alternative):
            if phrase:
                target = must_not if negated else must
                if ws := tuple(words(phrase)):
                    target.append(ws)
                continue
            negate = bare.startswith("-") and len(bare) > 1
            raw = bare[1:] if negate else bare
            if raw.endswith("*") and not negate:
                prefixes.extend(w for w in words(raw[:-1])[-1:])
                must.extend((w,) for w in words(raw[:-1])[:-1])
                continue
            for w in words(raw):
                (must_not if negate else must).append((w,))
        if must or prefixes:
            clauses.append(Clause(tuple(must), tuple(must_not), tuple(prefixes)))
    return tuple(clauses)


def _split_alternatives(q: str) -> list[str]:
    """Splits on ``|`` outside quotes."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in q:
        if ch == '"':
            quoted = not quoted
        if ch == "|" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]


@dataclass(frozen=True)
class ArticleFilter:
    """A subscriber's filter; equal filters share one match per event (hashable on purpose)."""

    source: str | None = None
    tag: str | None = None
    lang: str | None = None
    q: str | None = None
    _clauses: tuple[Clause, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_clauses", parse_query(self.q or ""))

    def params(self) -> dict[str, str | None]:
        """The filter as the index's search parameters."""
        return {"q": self.q, "source": self.source, "tag": self.tag, "lang": self.lang}

    def matches(self, article: ArticleData, text: "ArticleText | None" = None) -> bool:
        """Whether ``article`` passes; ``text`` is the article's folded words, built once per event."""
        if self.source is not None and article.source_id != self.source:
            return False
        if self.tag is not None and fold(self.tag) not in {fold(t) for t in article.tags}:
            return False
        if self.lang is not None and article.language != self.lang:
            return False
        if not self._clauses:
            return True
        text = text or ArticleText(article)
        return any(clause.matches(text.words, text.vocabulary) for clause in self._clauses)


class ArticleText:
    """The folded words of an article's title, summary, body and tags."""

    __slots__ = ("vocabulary", "words")

    def __init__(self, article: ArticleData) -> None:
        self.words = words(" ".join((article.title, article.summary, article.body_text, " ".join(article.tags))))
        self.vocabulary = frozenset(self.words)
