"""Extractive summary and key points from sentence embeddings (pure logic, no I/O).

Centrality (LexRank-style): a sentence that is similar to many others of the article carries its gist.
Each sentence's score is its mean cosine similarity to the others, standardised within the article,
plus its standardised similarity to the title-and-lead vector, plus a lead bias (news puts the
essentials first). The summary is the best one or two sentences
in reading order; the key points are then chosen by maximal marginal relevance (score minus the
highest standardised similarity to anything already chosen), so no key point repeats the summary or another point.
Sentences are deduplicated before scoring and each key point is capped at :data:`MAX_POINT_WORDS`.
"""

from dataclasses import dataclass

import numpy as np

from newsflow_index.embedding import Vectors

SUMMARY_SENTENCES = 2
SUMMARY_MAX_WORDS = 60
KEY_POINTS = 3
MAX_POINT_WORDS = 40
LEAD_BIAS = 1.0
MMR_LAMBDA = 0.6
NEAR_DUPLICATE = 0.93


@dataclass(frozen=True)
class Digest:
    """The AI block of an article: a short summary and up to three non-redundant key points."""

    summary: str
    key_points: list[str]


def centrality(vectors: Vectors, anchor: Vectors | None = None) -> np.ndarray:
    """Standardised mean similarity of each sentence to the others (+ to the anchor), plus a lead bias."""
    n = len(vectors)
    if n == 1:
        return np.ones(1)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, 0.0)
    scores = _z(sims.sum(axis=1) / (n - 1)) + LEAD_BIAS * (1.0 - np.arange(n) / n)
    if anchor is not None:
        scores = scores + _z(vectors @ anchor)
    return scores


def _z(values: np.ndarray) -> np.ndarray:
    result: np.ndarray = (values - values.mean()) / (float(values.std()) or 1.0)
    return result


def digest(sentences: list[str], vectors: Vectors, anchor: Vectors | None = None) -> Digest:
    """Summary and key points from an article's sentences and their normalised embeddings.

    ``anchor`` (optional) is the vector of the title and lead: similarity to it adds to the score.
    """
    if not sentences:
        return Digest(summary="", key_points=[])
    scores = centrality(vectors, anchor)
    sims = vectors @ vectors.T
    redundancy = _standardised(sims)
    chosen = _summary_indices(sentences, scores, sims)
    summary = " ".join(sentences[i] for i in sorted(chosen))
    points: list[int] = []
    candidates = [i for i in range(len(sentences)) if i not in chosen]
    while candidates and len(points) < KEY_POINTS:
        taken = chosen + points

        def mmr(i: int, taken: list[int] = taken) -> float:
            return float(MMR_LAMBDA * scores[i] - (1 - MMR_LAMBDA) * max(redundancy[i, j] for j in taken))

        best = max(candidates, key=mmr)
        candidates.remove(best)
        if max(float(sims[best, j]) for j in taken) < NEAR_DUPLICATE:
            points.append(best)
    return Digest(
        summary=_cap(summary, SUMMARY_MAX_WORDS), key_points=[_cap(sentences[i], MAX_POINT_WORDS) for i in points]
    )


def first_sentences(sentences: list[str], count: int = SUMMARY_SENTENCES) -> str:
    """The baseline the summary is compared with: the article's opening sentences."""
    return _cap(" ".join(sentences[:count]), SUMMARY_MAX_WORDS)


def _standardised(sims: np.ndarray) -> np.ndarray:
    """Similarities relative to the article's own spread (an embedding model's cosines sit in a narrow band)."""
    n = len(sims)
    if n < 3:
        return sims
    off = sims[~np.eye(n, dtype=bool)]
    result: np.ndarray = (sims - off.mean()) / (float(off.std()) or 1.0)
    return result


def _summary_indices(sentences: list[str], scores: np.ndarray, sims: np.ndarray) -> list[int]:
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    chosen = [order[0]]
    words = len(sentences[order[0]].split())
    for i in order[1:]:
        if len(chosen) >= SUMMARY_SENTENCES:
            break
        extra = len(sentences[i].split())
        if words + extra <= SUMMARY_MAX_WORDS and float(sims[i, chosen[0]]) < NEAR_DUPLICATE:
            chosen.append(i)
            words += extra
    return chosen


def _cap(text: str, max_words: int) -> str:
    words = text.split()
    if len(words) <= max_words:
        return text
    return " ".join(words[:max_words]).rstrip(",;:") + " …"
