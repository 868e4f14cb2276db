"""Hybrid related articles: BM25 more-like-this and kNN over the embeddings, fused by reciprocal rank.

Reciprocal rank fusion (Cormack et al., 2009): each list gives a document ``1 / (RRF_K + rank)``;
the sums decide the order. It needs no score calibration between BM25 (unbounded) and cosine
(0..1), which is why it is used here; it runs in the index service because Elasticsearch's own RRF
retriever is not in its free licence. Lists:

- ``bm25``: the classic more-like-this of :func:`queries.related_body` (title and body terms);
- ``knn_same``: nearest vectors in the article's own language;
- ``knn_any``: nearest vectors in every language (only with ``cross_language``), so an English
  article can list the Russian coverage of the same story (the model is multilingual).

Order of the answer: without ``cross_language`` every item in the article's language comes before
any other language (same language first); with it, the fused order alone decides.
"""

from collections.abc import Sequence
from typing import Any

from newsflow_index.mapping import PUBLISHED

RRF_K = 60
CANDIDATES = 30
NUM_CANDIDATES = 100
# The kNN lists count twice as much as BM25: on the labelled set (bench_related) BM25 mostly adds
# distractors that share topic words, while the vectors find the same event.
WEIGHTS = {"bm25": 1.0, "knn_same": 2.0, "knn_any": 2.0}


def knn_body(
    *, vector: Sequence[float], article_id: str, language: str | None, size: int, fields: list[str]
) -> dict[str, Any]:
    """The ``size`` nearest published articles to ``vector`` (in ``language`` if given), itself excluded."""
    filters: list[dict[str, Any]] = [{"term": {"status": PUBLISHED}}]
    if language is not None:
        filters.append({"term": {"language": language}})
    return {
        "knn": {
            "field": "embedding",
            "query_vector": list(vector),
            "k": size,
            "num_candidates": max(NUM_CANDIDATES, size),
            "filter": {"bool": {"filter": filters, "must_not": [{"ids": {"values": [article_id]}}]}},
        },
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
