"""Elasticsearch responses → API models."""

import math
from typing import Any

from newsflow_index.mapping import title_of
from newsflow_index.schemas import ArticleItem, Facets, FacetValue, Highlight, TrendingTag

MAX_DAYS = 90


def article_item(hit: dict[str, Any]) -> ArticleItem:
    source = hit["_source"]
    return ArticleItem(
        id=source["id"],
        title=title_of(source),
        url=source.get("url", ""),
        source_id=source.get("source_id", ""),
        source_name=source.get("source_name", ""),
        language=source.get("language", ""),
        tags=source.get("tags", []),
        authors=source.get("authors", []),
        image_url=source.get("image_url"),
        summary=source.get("summary", ""),
        published_at=source["published_at"],
        highlight=_highlight(hit.get("highlight", {})),
    )


def _highlight(fields: dict[str, list[str]]) -> Highlight:
    def first(prefix: str) -> str | None:
        return next((frags[0] for name, frags in fields.items() if name.startswith(prefix) and frags), None)

    return Highlight(title=first("title."), snippet=first("body."))


def facets(aggs: dict[str, Any]) -> Facets:
    def values(name: str) -> list[FacetValue]:
        return [FacetValue(value=str(b["key"]), count=b["doc_count"]) for b in aggs[name]["values"]["buckets"]]

    days = [FacetValue(value=b["key_as_string"], count=b["doc_count"]) for b in aggs["days"]["values"]["buckets"]]
    return Facets(
        sources=values("sources"), tags=values("tags"), languages=values("languages"), days=days[:MAX_DAYS][::-1]
    )


def rising_tags(buckets: list[dict[str, Any]], *, size: int, min_count: int = 2) -> list[TrendingTag]:
    """Tags ranked by how far the window's count rises above the previous window's.

    score = (current - previous) / sqrt(previous + 1): the rise in units of the Poisson noise of the
    baseline, so 3 → 12 outranks 300 → 320 and a tag that is merely always frequent is not "rising".
    """
    tags = []
    for bucket in buckets:
        current = bucket["current"]["doc_count"]
        previous = bucket["doc_count"] - current
        score = (current - previous) / math.sqrt(previous + 1)
        if current >= min_count and score > 0:
            tags.append(TrendingTag(tag=str(bucket["key"]), count=current, score=round(score, 3)))
    tags.sort(key=lambda t: (-t.score, -t.count, t.tag))
    return tags[:size]
