"""Story clusters, the pure part: entities, the link rule, components and deterministic story ids.

Two articles are *linked* (about the same event) when they were published within :data:`WINDOW` of
each other, their title-and-lead vectors are close (cosine) **and** they share named entities (numbers
and capitalised names, compared across scripts through a transliterated key), with thresholds per
pair of languages (docs/ai.md: the model puts any same-language text of a topic nearer than the same
event in another language, so a cross-language pair needs a lower cosine; the entities keep that
lower bar from joining two events of one kind).

A **story** is a connected component of the link graph (single linkage). Its id is derived from its
*founder*, the earliest published member (ties: the smallest article id): ``st-<founder id>``. So the
id depends only on who is in the story, never on the order articles arrived in: a replay, or another
arrival order of the same articles, gives the same ids. When two stories merge, the founder of the
result is the older of the two founders, so the merge keeps the older story's id and the other id
redirects to it. When a story splits (an article that linked two parts changed or was retracted),
the part holding the founder keeps the id and the other part gets its own founder's id.

No I/O in here: :mod:`newsflow_index.clusterer` keeps the graph in Elasticsearch.
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

# Thresholds, chosen on the labelled set (bench_related; docs/ai.md "Story clusters"): the centre of the
# plateau where pairwise F1 stays ≥ 0.95, not its best edge.
WINDOW = timedelta(hours=48)
SAME_LANGUAGE_COSINE = 0.93
OTHER_LANGUAGE_COSINE = 0.835
SAME_LANGUAGE_OVERLAP = 0.8
OTHER_LANGUAGE_OVERLAP = 0.67
MIN_ENTITIES = 2  # an article with fewer entity keys links on a same-language cosine alone, never across
ENTITY_TEXT_CHARS = 3000
STORY_PREFIX = "st-"

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_WORD = re.compile(r"[^\W\d_]+")
_SENTENCE_BREAK = re.compile(r"[.!?…:;]\s+|[«»\"“”„()\[\]]")
_REPEATS = re.compile(r"(.)\1+")
_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "i",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "sch",
            "_",
            "y",
            "_",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)
# Latin spellings that transliterations disagree on, folded to one letter (Clara/Клара, Lindqvist/Линдквист).
_FOLD = str.maketrans({"c": "k", "q": "k", "w": "v", "y": "i", "j": "i", "h": None, "_": None})
# Capitalised words that are not names of a particular event.
_STOP = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "mayor", "president", "minister", "the", "fc",
}  # fmt: skip


def name_key(word: str) -> str:
    """A script-independent key of a name: transliterated, folded, doubled letters squeezed, 4 letters."""
    latin = "".join(_CYRILLIC.get(c, c) for c in word.lower())
    plain = "".join(c for c in unicodedata.normalize("NFKD", latin) if c.isascii() and c.isalpha())
    return _REPEATS.sub(r"\1", plain.replace("x", "ks").translate(_FOLD))[:4]


def entities(title: str, text: str) -> list[str]:
    """Entity keys of an article: its numbers (``#5.9``) and names (capitalised words not opening a sentence)."""
    found: set[str] = set()
    for part in (title, text[:ENTITY_TEXT_CHARS]):
        found.update("#" + m.group().replace(",", ".") for m in _NUMBER.finditer(part))
        for chunk in _SENTENCE_BREAK.split(part):
            for i, word in enumerate(_WORD.findall(chunk)):
                if i and len(word) >= 3 and word[0].isupper() and word.lower() not in _STOP:
                    key = name_key(word)
                    if len(key) >= 3:
                        found.add(key)
    return sorted(found)


def overlap(a: Iterable[str], b: Iterable[str]) -> float:
    """Overlap coefficient |A ∩ B| / min(|A|, |B|) (0 when either is empty)."""
    left, right = set(a), set(b)
    if not left or not right:
        return 0.0
    return len(left & right) / min(len(left), len(right))


@dataclass(frozen=True)
class Profile:
    """What the link rule looks at besides the vector."""

    id: str
    language: str
    published_at: datetime
    entities: tuple[str, ...]


def linked(a: Profile, b: Profile, cosine: float) -> bool:
    """Whether two articles are about the same event (see the module docstring)."""
    if a.id == b.id or abs(a.published_at - b.published_at) > WINDOW:
        return False
    shared = overlap(a.entities, b.entities)
    if a.language == b.language:
        if min(len(a.entities), len(b.entities)) < MIN_ENTITIES:
            return cosine >= SAME_LANGUAGE_COSINE + 0.03
        return cosine >= SAME_LANGUAGE_COSINE and shared >= SAME_LANGUAGE_OVERLAP
    return (
        min(len(a.entities), len(b.entities)) >= MIN_ENTITIES
        and cosine >= OTHER_LANGUAGE_COSINE
        and shared >= OTHER_LANGUAGE_OVERLAP
    )


def story_id(founder_id: str) -> str:
    return STORY_PREFIX + founder_id


def founder(members: Iterable[tuple[str, datetime]]) -> str:
    """The founding article of a story: the earliest published, ties broken by the smallest id."""
    return min(members, key=lambda m: (m[1], m[0]))[0]


def components(nodes: Iterable[str], links: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Connected components of ``nodes`` in the (symmetric) graph ``links``, each sorted, in a stable order."""
    seen: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(nodes):
        if start in seen:
            continue
        part, todo = [], [start]
        seen.add(start)
        while todo:
            node = todo.pop()
            part.append(node)
            for other in links.get(node, ()):
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        found.append(sorted(part))
    return found


def redirects(
    old_story: Mapping[str, str], new_story: Mapping[str, str], *, order: Mapping[str, tuple[datetime, str]]
) -> dict[str, str | None]:
    """Where each story id that no longer names a story now points (None: its articles are all gone).

    ``old_story``/``new_story`` map article id → story id before/after; ``order`` is each article's
    (published_at, id). An old id follows its founder article if it is still here, else the earliest
    of its remaining articles.
    """
    alive = set(new_story.values())
    members: dict[str, list[str]] = {}
    for article, story in old_story.items():
        members.setdefault(story, []).append(article)
    moved: dict[str, str | None] = {}
    for story, articles in members.items():
        if story in alive:
            continue
        remaining = sorted((a for a in articles if a in new_story), key=lambda a: order[a])
        founder_id = story.removeprefix(STORY_PREFIX)
        target = founder_id if founder_id in new_story else (remaining[0] if remaining else None)
        moved[story] = new_story[target] if target is not None else None
    return moved
