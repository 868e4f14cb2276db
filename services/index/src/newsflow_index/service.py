"""What the index API answers: keyword-only functions over the alias, no HTTP in here.

Elasticsearch failures never surface as 500: a request it refuses (400, e.g. a prefix expanding to
too many terms) becomes 422, one it cannot answer (down, 429, 5xx, timeout) becomes 503.
"""

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, AsyncElasticsearch, BadRequestError, NotFoundError

from newsflow_index import cursor, hybrid, queries
from newsflow_index.filters import Filters
from newsflow_index.indices import digests_alias, vectors_alias
from newsflow_index.mapping import PUBLISHED, title_of
from newsflow_index.results import article_item, facets, rising_tags
from newsflow_index.schemas import (
    ArticleAI,
    ArticleItem,
    LatestPage,
    RelatedPage,
    SearchPage,
    Suggestion,
    SuggestPage,
    TrendingPage,
)
from newsflow_kit.errors import DependencyUnavailable, InvalidInput, NewsflowError, NotFound

log = logging.getLogger(__name__)

_WINDOW = re.compile(r"^([1-9][0-9]{0,3})([hd])$")
MAX_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class SearchIndex:
    """The Elasticsearch client and the alias every read goes through."""

    es: AsyncElasticsearch
    alias: str
    pit_keep_alive: str = "2m"  # how long a search's point in time outlives its last page


async def search(
    index: SearchIndex,
    *,
    q: str,
    filters: Filters,
    sort: queries.Sort,
    size: int,
    page: str | None,
    search_in: queries.SearchIn = "all",
) -> SearchPage:
    """One page of results. The first page is one plain search on the alias (most readers never ask
    for a second); a second page opens a point in time and later pages stay in it (see _later_page)."""
    kind, key = f"search:{sort}", cursor.fingerprint(q, filters.key(), *([search_in] if search_in != "all" else []))
    length = 3 if sort == "relevance" else 2  # the sort values: (score,) published_at, id
    after = cursor.decode(page, kind=kind, fingerprint=key, length=length, search=True) if page else None
    as_of = _as_of(after)
    body = queries.search_body(
        q=q,
        filters=filters,
        sort=sort,
        size=size,
        after=after.after if after else None,
        as_of=as_of,
        search_in=search_in,
        exclude=after.shown if after else (),
    )
    if after is None:
        response = await _search(index, body)
        hits = _hits(response)
        shown = tuple(str(hit["_source"]["id"]) for hit in hits)
        next_cursor = _next(hits, size, kind=kind, key=key, as_of=as_of, shown=shown)
        total = response["hits"]["total"]["value"]
    else:
        response, pit_id = await _later_page(index, body, after)
        hits = _hits(response)
        next_cursor = _next(hits, size, kind=kind, key=key, as_of=as_of, pit=pit_id, shown=after.shown)
        if next_cursor is None:
            await _close_pit(index, pit_id)
        # The first page's hits are excluded from the hits only: counted back, the total stays whole.
        total = response["hits"]["total"]["value"] + response["aggregations"][queries.SHOWN]["doc_count"]
    return SearchPage(
        total=total,
        items=[article_item(hit) for hit in hits],
        facets=facets(response["aggregations"]),
        next_cursor=next_cursor,
    )


async def latest(index: SearchIndex, *, filters: Filters, size: int, page: str | None) -> LatestPage:
    kind, key = "latest", cursor.fingerprint(filters.key())
    after = cursor.decode(page, kind=kind, fingerprint=key, length=2) if page else None
    body = queries.latest_body(filters=filters, size=size, after=after.after if after else None)
    response = await _search(index, body)
    hits = _hits(response)
    return LatestPage(
        items=[article_item(hit) for hit in hits],
        next_cursor=_next(hits, size, kind=kind, key=key, as_of=_as_of(after)),
    )


async def related(index: SearchIndex, *, article_id: str, size: int, cross_language: bool = False) -> RelatedPage:
    """Hybrid (BM25 more-like-this + kNN on the vectors side index, fused by RRF; see hybrid.py), or BM25
    alone when the article has no vector for its current version."""
    article, vector = await _with_vector(index, article_id)
    bm25 = queries.related_body(
        index=article["_index"],
        article_id=article_id,
        source_id=article["_source"].get("source_id", ""),
        size=max(size, hybrid.CANDIDATES) if vector else size,
        as_of=datetime.now(UTC),
    )
    if not vector:
        only = await _search(index, bm25)
        return RelatedPage(items=[article_item(hit) for hit in _hits(only)][:size], method="bm25", note=NO_VECTOR)
    language = str(article["_source"].get("language", ""))
    lists = ["knn_same", "knn_other"] if cross_language else ["knn_same"]
    found, nearest = await asyncio.gather(
        _search(index, bm25),
        _nearest(index, vector=vector, article_id=article_id, language=language, lists=lists),
        return_exceptions=True,
    )
    if isinstance(found, BaseException):
        raise found
    if isinstance(nearest, BaseException):
        if not isinstance(nearest, NewsflowError):
            raise nearest
        log.warning("kNN part of related failed, answering with BM25 only: %s", nearest)
        return RelatedPage(items=[article_item(hit) for hit in _hits(found)][:size], method="bm25", note=KNN_FAILED)
    ranked, items = nearest
    ranked["bm25"] = [hit["_source"]["id"] for hit in _hits(found)]
    for hit in _hits(found):
        items.setdefault(hit["_source"]["id"], article_item(hit))
    fused = hybrid.fuse({name: ids for name, ids in ranked.items() if name != "knn_other"})
    order = hybrid.same_language_first(fused, {i: item.language for i, item in items.items()}, language)
    if cross_language:
        order = hybrid.alternate(order, ranked.get("knn_other", []))
    return RelatedPage(items=[items[i] for i in order[:size]], method="hybrid", note=None)


async def _nearest(
    index: SearchIndex, *, vector: list[float], article_id: str, language: str, lists: list[str]
) -> tuple[dict[str, list[str]], dict[str, ArticleItem]]:
    """The kNN lists (ids, nearest first) over the vectors index, joined with the articles alias in one
    request: only articles it holds published at the vector's version stay (a retracted one, or one
    whose new version has no vector yet, drops out)."""
    bodies = [
        hybrid.knn_body(
            vector=vector,
            article_id=article_id,
            language=language,
            same=name == "knn_same",
            size=hybrid.CANDIDATES,
            fields=["id", "version"],
        )
        for name in lists
    ]
    answers = await asyncio.gather(*(_search(index, body, target=vectors_alias(index.alias)) for body in bodies))
    versions = {hit["_source"]["id"]: int(hit["_source"]["version"]) for a in answers for hit in _hits(a)}
    items: dict[str, ArticleItem] = {}
    if versions:
        live = await _search(index, queries.live_body(ids=sorted(versions)))
        items = {
            hit["_source"]["id"]: article_item(hit)
            for hit in _hits(live)
            if int(hit["_source"].get("version", -1)) == versions[hit["_source"]["id"]]
        }
    ranked = {
        name: [hit["_source"]["id"] for hit in _hits(a) if hit["_source"]["id"] in items]
        for name, a in zip(lists, answers, strict=True)
    }
    return ranked, items


NO_VECTOR = "no embedding for this article yet (the embedder is behind or down): related by shared words only"
KNN_FAILED = "vector search is unavailable right now: related by shared words only"


async def suggest(index: SearchIndex, *, q: str, size: int) -> SuggestPage:
    response = await _search(index, queries.suggest_body(q=q, size=size * 2))
    seen: set[str] = set()
    items = []
    for hit in _hits(response):
        title = title_of(hit["_source"])
        if title.casefold() not in seen:  # one suggestion per distinct title
            seen.add(title.casefold())
            items.append(Suggestion(id=hit["_source"]["id"], title=title))
    return SuggestPage(items=items[:size])


async def trending(index: SearchIndex, *, window: str, size: int) -> TrendingPage:
    span = parse_window(window)
    body = queries.trending_body(now=datetime.now(UTC), window=span, candidates=200)
    response = await _search(index, body)
    return TrendingPage(items=rising_tags(response["aggregations"]["tags"]["buckets"], size=size))


def parse_window(window: str) -> timedelta:
    """``<n>h`` or ``<n>d``, up to 30 days."""
    match = _WINDOW.match(window)
    span = timedelta(hours=int(match[1]) * (24 if match[2] == "d" else 1)) if match else None
    if span is None or span > MAX_WINDOW:
        message = "a window such as 6h, 24h or 7d (at most 30d)"
        raise InvalidInput(message, errors=[{"field": "query.window", "message": message, "type": "value_error"}])
    return span


def _hits(response: dict[str, Any]) -> list[dict[str, Any]]:
    hits: list[dict[str, Any]] = response.get("hits", {}).get("hits", [])  # filter_path drops an empty list
    return hits


def _as_of(after: cursor.Cursor | None) -> datetime:
    if after is not None:
        return datetime.fromtimestamp(after.as_of / 1000, UTC)
    return datetime.now(UTC).replace(microsecond=0)


def _next(
    hits: list[dict[str, Any]],
    size: int,
    *,
    kind: str,
    key: str,
    as_of: datetime,
    pit: str | None = None,
    shown: tuple[str, ...] = (),
) -> str | None:
    if len(hits) < size:
        return None
    last = hits[-1]["sort"]
    return cursor.encode(cursor.Cursor(kind, key, list(last), int(as_of.timestamp() * 1000), pit, shown))


async def _published(index: SearchIndex, article_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    with suppress(NotFound):
        async with _translated_errors():
            response = await index.es.get(index=index.alias, id=article_id, source_includes=["source_id", "status"])
            doc = response.body
    if doc.get("_source", {}).get("status") != PUBLISHED:
        raise NotFound(f"no article {article_id}")
    return doc


async def _with_vector(index: SearchIndex, article_id: str) -> tuple[dict[str, Any], list[float] | None]:
    """The published article (its ``_index``, source id and language) and the vector of its current
    version (None when the vectors index has none for that version), read with one ``mget``."""
    docs = [
        {"_index": index.alias, "_id": article_id, "_source": ["source_id", "language", "status", "version"]},
        {"_index": vectors_alias(index.alias), "_id": article_id, "_source": ["version", "status", "embedding"]},
    ]
    article, held = await _joined(index, docs)
    source = article.get("_source", {})
    if source.get("status") != PUBLISHED:
        raise NotFound(f"no article {article_id}")
    stored = held.get("_source", {})
    current = stored.get("status") == PUBLISHED and stored.get("version") == source.get("version")
    vector: list[float] | None = stored.get("embedding") if current else None
    return article, vector or None


async def _joined(index: SearchIndex, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``mget`` of an article and its side documents: the first must come from an index that exists
    (else 503, as a search would); a side index missing counts as holding nothing."""
    async with _translated_errors():
        response = await index.es.mget(docs=docs)
    found: list[dict[str, Any]] = response.body["docs"]
    if found[0].get("error"):
        log.warning("elasticsearch could not read %s: %s", found[0].get("_index"), found[0]["error"])
        raise DependencyUnavailable("the search index is not ready")
    return found


# Only what the answers use: a smaller response is decoded faster.
HITS_ONLY = "hits.total.value,hits.hits._source,hits.hits.highlight,hits.hits.sort,aggregations"
PAGE_ONLY = f"{HITS_ONLY},pit_id"


class PointInTimeGone(Exception):
    """The cursor's point in time expired, was closed, or its index was replaced by a reindex."""


async def _later_page(index: SearchIndex, body: dict[str, Any], after: cursor.Cursor) -> tuple[dict[str, Any], str]:
    """A second or later search page, read from the cursor's point in time or from a new one.

    The first page was read without a point in time (one Elasticsearch call, and no search context
    kept open for the many readers who never page on), so the second page opens one on the alias and
    continues after the first page's last sort values. Outside a point in time the index may have changed
    between the two pages (updates rewriting articles, new ones arriving, BM25 statistics moving),
    so every later page excludes the first page's ids: none of them is ever shown twice. From then on
    the pages are read inside that point in time, where nothing changes under the reader, so they
    neither repeat nor skip hits. ``id`` in the sort makes the sort values unique outside a point in time;
    the tiebreaker of a new one is set past any document so the last hit is not repeated. When the
    cursor's point in time has gone (kept ``pit_keep_alive`` after each page), the next page is read
    from a new one in the same way: the reader gets the next page rather than an error.
    """
    if after.pit is not None:
        try:
            return await _pit_search(index, body, after.pit)
        except PointInTimeGone:
            log.info("a search cursor's point in time has gone; reading on from a new one")
            body = {**body, "search_after": [*body["search_after"][:-1], cursor.LONG_MAX]}
    else:
        body = {**body, "search_after": [*body["search_after"], cursor.LONG_MAX]}
    async with _translated_errors():
        opened = await index.es.open_point_in_time(index=index.alias, keep_alive=index.pit_keep_alive)
    new_id = str(opened.body["id"])
    try:
        return await _pit_search(index, body, new_id)
    except Exception:
        await _close_pit(index, new_id)
        raise


async def _pit_search(index: SearchIndex, body: dict[str, Any], pit_id: str) -> tuple[dict[str, Any], str]:
    """The page and the point-in-time id to hand on (Elasticsearch may give a new one)."""
    in_pit = queries.in_pit(body, pit_id=pit_id, keep_alive=index.pit_keep_alive)
    async with _translated_errors():
        try:
            response = await index.es.search(body=in_pit, filter_path=PAGE_ONLY)
        except NotFoundError as exc:  # no search context for this id (or its index was deleted)
            raise PointInTimeGone(str(exc)) from None
        except BadRequestError as exc:
            if "search context id" in str(exc):  # an id Elasticsearch cannot even parse: a forged cursor
                raise cursor.invalid("malformed cursor") from None
            raise
    result: dict[str, Any] = response.body
    return result, str(result.get("pit_id", pit_id))


async def _close_pit(index: SearchIndex, pit_id: str) -> None:
    """Frees a point in time no cursor refers to (one that cannot be freed expires by itself)."""
    with suppress(ApiError, TransportError):
        await index.es.close_point_in_time(id=pit_id)


async def _search(index: SearchIndex, body: dict[str, Any], *, target: str | None = None) -> dict[str, Any]:
    """One search on the articles alias (or ``target``), errors translated."""
    async with _translated_errors():
        response = await index.es.search(index=target or index.alias, body=body, filter_path=HITS_ONLY)
    result: dict[str, Any] = response.body
    return result


@asynccontextmanager
async def _translated_errors() -> AsyncIterator[None]:
    try:
        yield
    except BadRequestError as exc:
        log.info("elasticsearch refused a query: %s", exc.message)
        raise InvalidInput("the query could not be run; simplify it") from None
    except NotFoundError as exc:
        if exc.error == "index_not_found_exception":
            raise DependencyUnavailable("the search index is not ready") from None
        raise NotFound("not found") from None
    except (ApiError, TransportError) as exc:
        log.warning("elasticsearch failed: %s", exc)
        raise DependencyUnavailable("search is unavailable right now") from None


async def article_ai(index: SearchIndex, *, article_id: str) -> ArticleAI:
    """The AI block of a published article, joined from the digests index with one ``mget``; ``pending``
    while the summarizer has not reached the article's current version."""
    docs = [
        {"_index": index.alias, "_id": article_id, "_source": ["status", "version"]},
        {"_index": digests_alias(index.alias), "_id": article_id, "_source": list(DIGEST_FIELDS)},
    ]
    article, held = await _joined(index, docs)
    source = article.get("_source", {})
    if source.get("status") != PUBLISHED:
        raise NotFound(f"no article {article_id}")
    block = held.get("_source", {})
    version = int(source["version"])
    ready = block.get("status") == PUBLISHED and block.get("version") == version and bool(block.get("digest_model"))
    return ArticleAI(
        article_id=article_id,
        status="ready" if ready else "pending",
        summary=(block.get("ai_summary") or None) if ready else None,
        key_points=list(block.get("ai_key_points") or []) if ready else [],
        model=block.get("digest_model") if ready else None,
        version=version,
    )


DIGEST_FIELDS = ("version", "status", "digest_model", "ai_summary", "ai_key_points")
