"""Hybrid related articles: BM25 more-like-this and kNN over the embeddings, fused by reciprocal rank.

The kNN lists run on the vectors side index (``<alias>-vectors``, see mapping.py) and return ids and
versions only; service.py joins them with the articles alias in one request, keeping the articles
still published at the vector's version (a retracted or re-versioned article never comes back).

Reciprocal rank fusion (Cormack et al., 2009): each list gives a document ``1 / (RRF_K + rank)``;
the sums decide the order. It needs no score calibration between BM25 (unbounded) and cosine
(0..1), which is why it is used here; it runs in the index service because Elasticsearch's own RRF
retriever is not in its free licence. Lists:

- ``bm25``: the classic more-like-this of :func:`queries.related_body` (title and body terms);
- ``knn_same``: nearest vectors in the article's own language;
- ``knn_other``: nearest vectors in the *other* languages (only with ``cross_language``), so an
  English article can list the Russian coverage of the same story. A separate list, because the
  model, though multilingual, puts any same-language text on a similar topic nearer than the same
  event told in another language (labelled set: a same-story Russian article at cosine ~0.86, other
  English earthquakes at ~0.91); within Russian, the same event is still the nearest (~0.86 vs ~0.82).

Order of the answer: without ``cross_language`` the fused ``bm25`` + ``knn_same`` list, every item in
the article's language before any other language (same language first). With it, that list and
``knn_other`` alternate (same, other, same, other, …): rank fusion cannot mix them fairly, since an
other-language article can never appear in the BM25 list and would always lose to a same-language
one found by both. ``knn_other`` only returns articles at cosine ≥ :data:`CROSS_LANGUAGE_MIN`, so an
article without coverage in another language simply gets same-language items.
"""

from collections.abc import Sequence
from itertools import zip_longest
from typing import Any

from newsflow_index.mapping import PUBLISHED

RRF_K = 60
CANDIDATES = 30
NUM_CANDIDATES = 100
# The kNN lists count twice as much as BM25: on the labelled set (bench_related) BM25 mostly adds
# distractors that share topic words, while the vectors find the same event.
WEIGHTS = {"bm25": 1.0, "knn_same": 2.0}
# Raw cosine floor for another language's articles (multilingual-e5-small: same event across
# English/Russian ~0.84-0.88 on the labelled set, other events of the same kind ~0.80-0.84).
CROSS_LANGUAGE_MIN = 0.83


def knn_body(
    *, vector: Sequence[float], article_id: str, language: str, same: bool, size: int, fields: list[str]
) -> dict[str, Any]:
    """The ``size`` nearest published vectors to ``vector`` in ``language`` (``same``) or in any other
    (a request to the vectors index: its documents carry ``status`` and ``language``)."""
    filters: list[dict[str, Any]] = [{"term": {"status": PUBLISHED}}]
    excluded: list[dict[str, Any]] = [{"ids": {"values": [article_id]}}]
    (filters if same else excluded).append({"term": {"language": language}})
    knn: dict[str, Any] = {
        "field": "embedding",
        "query_vector": list(vector),
        "k": size,
        "num_candidates": max(NUM_CANDIDATES, size),
        "filter": {"bool": {"filter": filters, "must_not": excluded}},
    }
    if not same:
        knn["similarity"] = CROSS_LANGUAGE_MIN
    return {
        "knn": knn,
        "size": size,
        "track_total_hits": False,
        "_source": fields,
    }


def fuse(ranked: dict[str, list[str]], *, weights: dict[str, float] | None = None) -> list[str]:
    """Ids ordered by weighted reciprocal-rank score (ties: best single rank, then id)."""
    weights = weights or WEIGHTS
    scores: dict[str, float] = {}
    best: dict[str, int] = {}
    for name, ids in ranked.items():
        for rank, doc_id in enumerate(ids, start=1):
            scores[doc_id] = scores.get(doc_id, 0.0) + weights.get(name, 1.0) / (RRF_K + rank)
            best[doc_id] = min(best.get(doc_id, rank), rank)
    return sorted(scores, key=lambda d: (-scores[d], best[d], d))


def same_language_first(ids: list[str], languages: dict[str, str], language: str) -> list[str]:
    """Stable: the article's language first, the others after, each group in fused order."""
    return [d for d in ids if languages.get(d) == language] + [d for d in ids if languages.get(d) != language]


def alternate(first: list[str], second: list[str]) -> list[str]:
    """first[0], second[0], first[1], second[1], … (then the rest of the longer one), without repeats."""
    merged: list[str] = []
    for pair in zip_longest(first, second):
        merged += [doc_id for doc_id in pair if doc_id is not None and doc_id not in merged]
    return merged
