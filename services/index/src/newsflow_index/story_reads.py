"""What the index API answers about stories (written by the embedder; clusterer.py): no HTTP in here."""

from datetime import UTC, datetime
from typing import Any

from newsflow_index import cursor
from newsflow_index.clusterer import ACTIVE, MERGED, members_index, stories_index
from newsflow_index.mapping import PUBLISHED
from newsflow_index.queries import ITEM_FIELDS
from newsflow_index.results import article_item
from newsflow_index.schemas import ArticleStory, StoriesPage, StoryDetail, StorySource, StorySummary, StoryUpdates
from newsflow_index.service import SearchIndex, _translated_errors
from newsflow_kit.errors import InvalidInput, NotFound

MAX_REDIRECTS = 8
UPDATES_PAGE = 100


async def recent(index: SearchIndex, *, size: int, min_size: int, page: str | None) -> StoriesPage:
    """Stories with at least ``min_size`` articles, the most recently published-into first."""
    kind, key = "stories", cursor.fingerprint(min_size)
    after = cursor.decode(page, kind=kind, fingerprint=key, length=2) if page else None
    body: dict[str, Any] = {
        "query": {"bool": {"filter": [{"term": {"status": ACTIVE}}, {"range": {"size": {"gte": min_size}}}]}},
        "sort": [{"last_published_at": "desc"}, {"id": "desc"}],
        "size": size,
        "track_total_hits": False,
    }
    if after is not None:
        body["search_after"] = after.after
    hits = await _search(index, stories_index(index.alias), body)
    next_cursor = None
    if len(hits) == size:
        next_cursor = cursor.encode(cursor.Cursor(kind, key, list(hits[-1]["sort"]), _now_ms()))
    return StoriesPage(items=[summary(hit["_source"]) for hit in hits], next_cursor=next_cursor)


async def story(index: SearchIndex, *, story_id: str) -> StoryDetail:
    """One story with its published articles; a merged id answers the story it was merged into."""
    source = await _story(index, story_id)
    for _ in range(MAX_REDIRECTS):
        if source.get("status") != MERGED:
            break
        source = await _story(index, str(source["redirect_to"]))
    if source.get("status") != ACTIVE:
        raise NotFound(f"no story {story_id}")
    body = {
        "query": {"bool": {"filter": [{"ids": {"values": source["article_ids"]}}, {"term": {"status": PUBLISHED}}]}},
        "sort": [{"published_at": "asc"}, {"id": "asc"}],
        "size": len(source["article_ids"]),
        "_source": ITEM_FIELDS,
    }
    hits = await _search(index, index.alias, body)
    return StoryDetail(
        **summary(source).model_dump(), articles=[article_item(hit) for hit in hits], requested_id=story_id
    )


async def of_article(index: SearchIndex, *, article_id: str) -> ArticleStory:
    """The story an article belongs to (null until the embedder has clustered it)."""
    async with _translated_errors():
        response = await index.es.options(ignore_status=404).get(
            index=members_index(index.alias), id=article_id, source_includes=["status", "story_id"]
        )
    member = response.body.get("_source") if response.body.get("found") else None
    if not member or member.get("status") != ACTIVE or not member.get("story_id"):
        return ArticleStory(article_id=article_id, story=None)
    detail = await _story(index, str(member["story_id"]))
    return ArticleStory(article_id=article_id, story=summary(detail) if detail.get("status") == ACTIVE else None)


async def updates(index: SearchIndex, *, after: str | None, size: int = UPDATES_PAGE) -> StoryUpdates:
    """Story documents written after ``after`` (an ``updated_at`` from a previous answer), oldest first."""
    since = _parse_after(after)
    body: dict[str, Any] = {
        "query": {"range": {"updated_at": {"gt": since.isoformat()}}},
        "sort": [{"updated_at": "asc"}, {"id": "asc"}],
        "size": size,
        "track_total_hits": False,
    }
    hits = await _search(index, stories_index(index.alias), body)
    items = [summary(hit["_source"]) for hit in hits if hit["_source"].get("status") == ACTIVE]
    removed = [hit["_source"]["id"] for hit in hits if hit["_source"].get("status") != ACTIVE]
    last = hits[-1]["_source"]["updated_at"] if hits else since.isoformat()
    return StoryUpdates(items=items, removed=removed, next_after=str(last))


def summary(source: dict[str, Any]) -> StorySummary:
    ids, names = source.get("source_ids", []), source.get("source_names", [])
    return StorySummary(
        id=source["id"],
        title=source.get("title", ""),
        size=int(source["size"]),
        sources_count=int(source["sources_count"]),
        sources=[StorySource(id=i, name=n) for i, n in zip(ids, names, strict=False)],
        languages=list(source.get("languages", [])),
        first_published_at=source["first_published_at"],
        last_published_at=source["last_published_at"],
        updated_at=source["updated_at"],
    )


async def _story(index: SearchIndex, story_id: str) -> dict[str, Any]:
    async with _translated_errors():
        response = await index.es.options(ignore_status=404).get(index=stories_index(index.alias), id=story_id)
    if not response.body.get("found"):
        raise NotFound(f"no story {story_id}")
    source: dict[str, Any] = response.body["_source"]
    return source


async def _search(index: SearchIndex, target: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    async with _translated_errors():
        response = await index.es.options(ignore_status=404).search(index=target, body=body)
    if response.meta.status == 404:  # no story index yet: the embedder has not clustered anything
        return []
    hits: list[dict[str, Any]] = response.body["hits"]["hits"]
    return hits


def _parse_after(after: str | None) -> datetime:
    if not after:
        return datetime.fromtimestamp(0, UTC)
    try:
        when = datetime.fromisoformat(after)
    except ValueError:
        message = "an ISO 8601 date-time (next_after of a previous answer)"
        raise InvalidInput(message, errors=[{"field": "query.after", "message": message}]) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
