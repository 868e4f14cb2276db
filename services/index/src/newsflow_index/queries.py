"""Elasticsearch request bodies, built only from validated values: user text reaches Elasticsearch
solely as the ``query`` string of ``simple_query_string`` or ``match`` (never as DSL).
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from newsflow_index.filters import Filters
from newsflow_index.mapping import PUBLISHED, TEXT_SUBFIELDS

Sort = Literal["relevance", "newest"]
# Which text fields a query searches: both (default), or only the title / only the body.
SearchIn = Literal["all", "title", "body"]

TITLE_BOOST = 3
SEARCH_FIELDS = [f"title.{f}^{TITLE_BOOST}" for f in TEXT_SUBFIELDS] + [f"body.{f}" for f in TEXT_SUBFIELDS]
FIELDS_OF: dict[str, list[str]] = {
    "all": SEARCH_FIELDS,
    "title": [f for f in SEARCH_FIELDS if f.startswith("title.")],
    "body": [f for f in SEARCH_FIELDS if f.startswith("body.")],
}
MLT_FIELDS = [f"title.{f}" for f in TEXT_SUBFIELDS] + [f"body.{f}" for f in TEXT_SUBFIELDS]
# The safe operators: "quoted phrases", -exclusion, a | b, prefix*, (grouping); no fuzzy/slop/near.
QUERY_FLAGS = "AND|OR|NOT|PHRASE|PREFIX|PRECEDENCE|WHITESPACE|ESCAPE"
ITEM_FIELDS = [
    "id", "title", "url", "source_id", "source_name", "language", "tags", "authors", "image_url", "summary",
    "published_at",
]  # fmt: skip
FACETS = {"sources": "source_id", "tags": "tags", "languages": "language"}
FACET_SIZE = 20
SNIPPET_CHARS = 180
PUBLISHED_ONLY = {"term": {"status": PUBLISHED}}
NEWEST_FIRST: list[Any] = [{"published_at": "desc"}, {"id": "asc"}]
# A point in time's own tiebreaker, which ends the sort of every search page read inside one.
PIT_TIEBREAKER = {"_shard_doc": "asc"}
SHOWN = "shown"  # the aggregation counting the excluded (already shown) hits that still match


def search_body(
    *,
    q: str,
    filters: Filters,
    sort: Sort,
    size: int,
    after: list[Any] | None,
    as_of: datetime,
    search_in: SearchIn = "all",
    exclude: Sequence[str] = (),
) -> dict[str, Any]:
    """Full-text search with facets counted like a multi-select UI: each facet ignores its own filter.

    The API runs the first page as it is, on the alias, and later pages inside a point in time
    (:func:`in_pit`). ``exclude`` (the first page's ids) drops hits already shown: only from the hits
    (``post_filter``), so the facets stay whole, and the ``shown`` count lets the total stay whole too.
    """
    text: dict[str, Any] = {"match_all": {}}
    if q:
        text = {
            "simple_query_string": {
                "query": q,
                "fields": FIELDS_OF[search_in],
                "default_operator": "and",
                "flags": QUERY_FLAGS,
                "lenient": True,
            }
        }
    query: dict[str, Any] = {"bool": {"must": [text], "filter": [PUBLISHED_ONLY, *_date_range(filters)]}}
    if q and sort == "relevance":
        query = _favour_recent(query, as_of)
    facet_filters = _facet_filters(filters)
    body: dict[str, Any] = {
        "query": query,
        "post_filter": {"bool": {"filter": list(facet_filters.values())}},
        "aggs": _facet_aggs(facet_filters),
        "sort": ["_score", *NEWEST_FIRST] if sort == "relevance" else NEWEST_FIRST,
        "size": size,
        "track_total_hits": True,
        "_source": ITEM_FIELDS,
    }
    if q:
        body["highlight"] = {
            "encoder": "html",
            "pre_tags": ["<mark>"],
            "post_tags": ["</mark>"],
            "fields": {
                "title.*": {"number_of_fragments": 0},
                "body.*": {"fragment_size": SNIPPET_CHARS, "number_of_fragments": 1},
            },
        }
    if after is not None:
        body["search_after"] = after
    if exclude:
        shown = {"ids": {"values": list(exclude)}}
        body["post_filter"]["bool"]["must_not"] = [shown]
        body["aggs"][SHOWN] = {"filter": {"bool": {"filter": [*facet_filters.values(), shown]}}}
    return body


def in_pit(body: dict[str, Any], *, pit_id: str, keep_alive: str) -> dict[str, Any]:
    """``body`` read from a point in time (searched without an index in the path), renewing it for
    ``keep_alive``; ``_shard_doc`` ends the sort. ``id`` before it already makes the sort values unique,
    so they stay meaningful in another point in time (a re-opened one: see service.py)."""
    return {**body, "pit": {"id": pit_id, "keep_alive": keep_alive}, "sort": [*body["sort"], PIT_TIEBREAKER]}


def latest_body(*, filters: Filters, size: int, after: list[Any] | None) -> dict[str, Any]:
    """Newest published articles matching the filters."""
    clauses = [PUBLISHED_ONLY, *_date_range(filters), *_facet_filters(filters).values()]
    body: dict[str, Any] = {
        "query": {"bool": {"filter": clauses}},
        "sort": NEWEST_FIRST,
        "size": size,
        "track_total_hits": False,
        "_source": ITEM_FIELDS,
    }
    if after is not None:
        body["search_after"] = after
    return body


def related_body(*, index: str, article_id: str, source_id: str, size: int, as_of: datetime) -> dict[str, Any]:
    """More like this article (title and body), itself excluded, favouring recent ones and other sources."""
    similar = {
        "more_like_this": {
            "fields": MLT_FIELDS,
            "like": [{"_index": index, "_id": article_id}],
            "min_term_freq": 1,
            "min_doc_freq": 1,
            "min_word_length": 3,
            "max_query_terms": 30,
            "minimum_should_match": "20%",
        }
    }
    query = {"bool": {"must": [similar], "filter": [PUBLISHED_ONLY], "must_not": [{"ids": {"values": [article_id]}}]}}
    other_source = {"filter": {"bool": {"must_not": [{"term": {"source_id": source_id}}]}}, "weight": 0.5}
    return {
        "query": _favour_recent(query, as_of, extra=[other_source]),
        "size": size,
        "track_total_hits": False,
        "_source": ITEM_FIELDS,
    }


def live_body(*, ids: Sequence[str]) -> dict[str, Any]:
    """The items of ``ids`` that are published now, with their version (the join of the kNN lists)."""
    return {
        "query": {"bool": {"filter": [{"ids": {"values": list(ids)}}, PUBLISHED_ONLY]}},
        "size": len(ids),
        "track_total_hits": False,
        "_source": [*ITEM_FIELDS, "version"],
    }


def suggest_body(*, q: str, size: int) -> dict[str, Any]:
    """Titles whose words start with the typed words (edge n-grams), best match then newest first."""
    match = {"match": {"title_suggest": {"query": q, "operator": "and"}}}
    return {
        "query": {"bool": {"must": [match], "filter": [PUBLISHED_ONLY]}},
        "sort": ["_score", *NEWEST_FIRST],
        "size": size,
        "track_total_hits": False,
        "_source": ["id", "title"],
    }


def trending_body(*, now: datetime, window: timedelta, candidates: int) -> dict[str, Any]:
    """Tag counts in the window and in the window before it (the baseline "rising" is measured against)."""
    current = {"range": {"published_at": {"gt": (now - window).isoformat()}}}
    both_windows = {"range": {"published_at": {"gt": (now - 2 * window).isoformat(), "lte": now.isoformat()}}}
    return {
        "size": 0,
        "query": {"bool": {"filter": [PUBLISHED_ONLY, both_windows]}},
        "aggs": {
            "tags": {
                "terms": {"field": "tags", "size": candidates, "order": {"current": "desc"}},
                "aggs": {"current": {"filter": current}},
            }
        },
    }


def _favour_recent(query: dict[str, Any], as_of: datetime, extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Multiplies the text score by 1..2 (+ extras) by freshness, so a fresh story beats an old equal one."""
    freshness = {"gauss": {"published_at": {"origin": as_of.isoformat(), "scale": "7d", "offset": "1d", "decay": 0.5}}}
    return {
        "function_score": {
            "query": query,
            "functions": [{"weight": 1}, {**freshness, "weight": 1}, *(extra or [])],
            "score_mode": "sum",
            "boost_mode": "multiply",
        }
    }


def _date_range(filters: Filters) -> list[dict[str, Any]]:
    bounds = {}
    if filters.since is not None:
        bounds["gte"] = filters.since.isoformat()
    if filters.until is not None:
        bounds["lt"] = filters.until.isoformat()
    return [{"range": {"published_at": bounds}}] if bounds else []


def _facet_filters(filters: Filters) -> dict[str, dict[str, Any]]:
    chosen = {"sources": filters.sources, "tags": filters.tags, "languages": filters.languages}
    return {name: {"terms": {FACETS[name]: list(values)}} for name, values in chosen.items() if values}


def _facet_aggs(facet_filters: dict[str, dict[str, Any]]) -> dict[str, Any]:
    aggs: dict[str, Any] = {}
    for name, field in FACETS.items():
        others = [clause for facet, clause in facet_filters.items() if facet != name]
        aggs[name] = {
            "filter": {"bool": {"filter": others}},
            "aggs": {"values": {"terms": {"field": field, "size": FACET_SIZE}}},
        }
    aggs["days"] = {
        "filter": {"bool": {"filter": list(facet_filters.values())}},
        "aggs": {
            "values": {
                "date_histogram": {
                    "field": "published_at",
                    "calendar_interval": "day",
                    "format": "yyyy-MM-dd",
                    "min_doc_count": 1,
                    "order": {"_key": "desc"},
                }
            }
        },
    }
    return aggs
