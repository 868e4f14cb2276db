"""Extractive key points and a lede summary: distinct sentences, never a wall of text.

A "sentence" longer than ``MAX_SENTENCE`` characters is text without sentence punctuation (a body
that is one long run of words): it never becomes a key point, and a summary made from it is cut at
a word boundary.
"""

import re
from collections import Counter
from collections.abc import Iterable

from newsflow_kit.text import shorten

MIN_SENTENCE = 20
MAX_SENTENCE = 300
LEDE_CHARS = 280
_SENTENCE = re.compile(r"(?<=[.!?…])\s+(?=[A-ZА-ЯЁ0-9«\"“])")
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_FOLD = re.compile(r"[\W_]+", re.UNICODE)
_SPACE = re.compile(r"\s+")


def folded(text: str) -> str:
    """Text compared for repeats: case, punctuation and spacing do not matter."""
    return _FOLD.sub(" ", text.casefold()).strip()


def distinct(items: Iterable[str]) -> list[str]:
    """``items`` without repeats (as ``folded`` compares them), first occurrence kept."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = folded(item)
        if key and key not in seen:
            seen.add(key)
            out.append(item)
    return out


def sentences(text: str) -> list[str]:
    """The text's sentences of a readable length, each once (a line break always ends one)."""
    parts = (_SPACE.sub(" ", s).strip() for line in text.splitlines() for s in _SENTENCE.split(line))
    return distinct(s for s in parts if MIN_SENTENCE < len(s) <= MAX_SENTENCE)


def key_points(text: str, *, stop: set[str], count: int = 3) -> list[str]:
    """The sentences with the most frequent content words, in reading order, none repeated."""
    candidates = sentences(text)[:60]
    if len(candidates) <= count:
        return candidates
    freq = Counter(w.lower() for w in _WORD.findall(text) if w.lower() not in stop)

    def score(s: str) -> float:
        words = [w.lower() for w in _WORD.findall(s) if w.lower() not in stop]
        return sum(freq[w] for w in words) / (len(words) + 5)

    best = sorted(range(len(candidates)), key=lambda i: score(candidates[i]), reverse=True)[:count]
    return [candidates[i] for i in sorted(best)]


def lede(text: str, *, limit: int = LEDE_CHARS) -> str:
    """A short summary: the opening sentence (or the opening words, cut at a word boundary)."""
    return shorten(_SENTENCE.split(text.strip().replace("\n", " "), maxsplit=1)[0], limit)
