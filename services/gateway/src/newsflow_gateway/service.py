"""The gateway's own logic: the article page assembled from three services, publishing rights."""

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from newsflow_contracts import ArticleData, ArticleStatus
from newsflow_gateway.backends import Backends, Service, segment
from newsflow_gateway.keys import Principal
from newsflow_gateway.metrics import PARTIAL_ANSWERS
from newsflow_gateway.schemas import ArticleAI, ArticleDetail, ArticlePublish, ArticleSummary, StorySummary
from newsflow_kit.errors import Forbidden, NewsflowError, NotFound

log = logging.getLogger(__name__)
T = TypeVar("T")

RELATED_SIZE = 5
# What the public may see of a source; the rest (feed URLs, schedules, errors) is for admins.
PUBLIC_SOURCE_FIELDS = ("id", "name", "site_url", "homepage", "url", "language", "description", "tags")


async def article_page(*, backends: Backends, article_id: str, part_timeout: float) -> ArticleDetail:
    """The article with its comment count, related articles, AI block and story, fetched in parallel.

    The article itself is required; the other parts each get ``part_timeout`` and are reported in
    ``missing`` when their service fails or is slow.
    """
    path = f"/articles/{segment(article_id)}"

    def part(name: str, service: Service, url: str, params: dict[str, Any] | None = None) -> Awaitable[Any]:
        return optional(name, backends.call(service, "GET", url, params=params), timeout=part_timeout)

    raw, count, related, ai, story = await asyncio.gather(
        backends.call(Service.INGEST, "GET", path),
        part("comment_count", Service.COMMENTS, f"{path}/comments/count"),
        part("related", Service.INDEX, f"{path}/related", {"size": RELATED_SIZE}),
        part("ai", Service.INDEX, f"{path}/ai"),
        part("story", Service.INDEX, f"{path}/story"),
    )
    article = ArticleData.model_validate(raw)
    if article.status is ArticleStatus.RETRACTED:
        raise NotFound(f"article {article_id} was retracted")
    parts = (("comment_count", count), ("related", related), ("ai", ai), ("story", story))
    missing = [name for name, part in parts if part is None]
    return ArticleDetail(
        article=article,
        comment_count=int(count["count"]) if count is not None else None,
        related=[ArticleSummary.model_validate(item) for item in related["items"]] if related is not None else None,
        related_method=related.get("method") if related is not None else None,
        related_note=related.get("note") if related is not None else None,
        ai=ArticleAI.model_validate(ai) if ai is not None else None,
        story=StorySummary.model_validate(story["story"]) if story is not None and story.get("story") else None,
        missing=missing,
    )


async def optional(part: str, call: Awaitable[T], *, timeout: float) -> T | None:
    """``call``'s result, or None (logged, counted) when it fails or takes longer than ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            return await call
    except (NewsflowError, TimeoutError) as exc:
        log.warning("page without %s: %s", part, exc)
        PARTIAL_ANSWERS.labels(part).inc()
        return None


def owned_article(principal: Principal, article: ArticlePublish) -> dict[str, Any]:
    """The ingest request body of ``article``, which must belong to the publisher's source."""
    if article.source_id is not None and article.source_id != principal.source_id:
        raise Forbidden(f"this key publishes only for source {principal.source_id}")
    return {**article.model_dump(mode="json", exclude_none=True), "source_id": principal.source_id}


async def retract(*, backends: Backends, principal: Principal, article_id: str) -> Any:
    """Retracts an article of the publisher's own source (ingest refuses another source's: 403)."""
    path = f"/articles/{segment(article_id)}"
    return await backends.call(Service.INGEST, "DELETE", path, params={"source_id": _source_of(principal)})


async def restore(*, backends: Backends, principal: Principal, article_id: str) -> Any:
    """Publishes a retracted article of the publisher's own source again."""
    path = f"/articles/{segment(article_id)}:restore"
    return await backends.call(Service.INGEST, "POST", path, params={"source_id": _source_of(principal)})


def _source_of(principal: Principal) -> str:
    if principal.source_id is None:
        raise Forbidden("this key is not bound to a source")
    return principal.source_id


def public_sources(raw: Any) -> dict[str, list[dict[str, Any]]]:
    """The public part of ingest's source list."""
    items = raw.get("items", []) if isinstance(raw, dict) else raw
    return {"items": [{k: s[k] for k in PUBLIC_SOURCE_FIELDS if k in s} for s in items if isinstance(s, dict)]}
