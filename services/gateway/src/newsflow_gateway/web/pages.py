"""What each page shows, fetched from the backing services; a part whose service fails becomes a notice.

Keyword-only functions without HTTP types, like ``service.py``: the routes turn their views into HTML.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from newsflow_contracts import ArticleData
from newsflow_gateway.backends import Backends, BadGateway, Service, segment
from newsflow_gateway.metrics import PARTIAL_ANSWERS
from newsflow_gateway.schemas import (
    ArticlesPage,
    ArticleSummary,
    CommentsPage,
    Facets,
    SearchPage,
    StoryDetail,
    StorySummary,
)
from newsflow_gateway.service import PUBLIC_SOURCE_FIELDS, article_page, optional
from newsflow_gateway.web.digest import Digest, digest
from newsflow_kit.errors import DependencyUnavailable, NewsflowError, NotFound

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

PAGE_SIZE = 20
THREAD_SIZE = 50
# Fixed wording: a notice never carries a backing service's own words.
NOTICES = {
    "latest": "The latest articles are unavailable right now; please try again shortly.",
    "search": "Search is unavailable right now; please try again shortly.",
    "comments": "Comments are unavailable right now.",
    "comment_count": "The comment count is unavailable right now.",
    "related": "Related articles are unavailable right now.",
    "source": "Details of this source are unavailable right now.",
}
# Failures of a page's main part that still leave a page worth showing (with a notice).
OUTAGES = (DependencyUnavailable, BadGateway)


@dataclass
class Listing:
    """A list of articles (home, tag, source, search) and what could not be shown."""

    items: list[ArticleSummary] = field(default_factory=list)
    next_cursor: str | None = None
    total: int | None = None
    facets: Facets = field(default_factory=Facets)
    notices: list[str] = field(default_factory=list)


@dataclass
class ArticleView:
    article: ArticleData
    comment_count: int | None
    related: list[ArticleSummary] | None
    comments: CommentsPage | None
    notices: list[str]
    digest: Digest = field(default_factory=Digest)
    story: StorySummary | None = None


@dataclass
class SourceView:
    id: str
    name: str
    homepage: str | None
    listing: Listing


def parsed(model: type[M], service: Service, raw: Any) -> M:
    """A backing service's answer as ``model``; an unreadable one is that service's failure (502)."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        log.warning("%s answered an unexpected shape: %s", service, exc)
        raise BadGateway(f"the {service} service gave an unreadable answer") from None


async def latest(
    *, backends: Backends, source: str | None = None, tag: str | None = None, cursor: str | None = None
) -> Listing:
    """Newest articles (of one source or tag); the index being down gives an empty list with a notice."""
    params = {"source": source, "tag": tag, "cursor": cursor, "size": PAGE_SIZE}
    try:
        page = parsed(ArticlesPage, Service.INDEX, await backends.call(Service.INDEX, "GET", "/latest", params=params))
    except OUTAGES as exc:
        log.warning("page without latest: %s", exc)
        PARTIAL_ANSWERS.labels("latest").inc()
        return Listing(notices=[NOTICES["latest"]])
    return Listing(items=page.items, next_cursor=page.next_cursor)


async def search(*, backends: Backends, params: dict[str, Any]) -> Listing:
    """Search results with highlights and facets; the index being down gives a notice."""
    try:
        raw = await backends.call(Service.INDEX, "GET", "/search", params={**params, "size": PAGE_SIZE})
        page = parsed(SearchPage, Service.INDEX, raw)
    except OUTAGES as exc:
        log.warning("page without search: %s", exc)
        PARTIAL_ANSWERS.labels("search").inc()
        return Listing(notices=[NOTICES["search"]])
    return Listing(items=page.items, next_cursor=page.next_cursor, total=page.total, facets=page.facets)


async def article(
    *, backends: Backends, article_id: str, part_timeout: float, comments_cursor: str | None = None
) -> ArticleView:
    """The article (required) with comment count, related articles and the thread, all fetched at once."""
    thread = asyncio.ensure_future(
        optional(
            "comments",
            _thread(backends, article_id, comments_cursor),
            timeout=part_timeout,
        )
    )
    try:
        detail = await article_page(backends=backends, article_id=article_id, part_timeout=part_timeout)
    except BaseException:
        thread.cancel()
        raise
    comments = await thread
    missing = [*detail.missing, *(["comments"] if comments is None else [])]
    found = detail.article
    return ArticleView(
        article=found,
        comment_count=detail.comment_count,
        related=same_language_first(detail.related, found.language),
        comments=comments,
        notices=[NOTICES[part] for part in missing if part in NOTICES],
        digest=digest(summary=found.summary, key_points=found.key_points, text=found.body_text),
        story=detail.story,
    )


async def story(*, backends: Backends, story_id: str) -> StoryDetail:
    """One story and its articles (404 when unknown; a merged id gives the story it joined)."""
    raw = await backends.call(Service.INDEX, "GET", f"/stories/{segment(story_id)}")
    return parsed(StoryDetail, Service.INDEX, raw)


def same_language_first(items: list[ArticleSummary] | None, language: str) -> list[ArticleSummary] | None:
    """Related articles in the reader's language first, otherwise in the order the index ranked them."""
    if items is None:
        return None
    return sorted(items, key=lambda item: item.language != language)


async def source_names(
    *, backends: Backends, listing: Listing, part_timeout: float, also: list[str] | None = None
) -> dict[str, str]:
    """Names of the sources in a search's results and facets (ids the results do not name are asked of ingest)."""
    names = {item.source_id: item.source_name for item in listing.items if item.source_name}
    wanted = [*(b.value for b in listing.facets.sources[:10]), *(also or [])]
    unknown = list(dict.fromkeys(sid for sid in wanted if sid not in names))
    infos = await asyncio.gather(*(_source_info(backends, sid, part_timeout, quiet=True) for sid in unknown))
    for sid, info in zip(unknown, infos, strict=True):
        if info and info.get("name"):
            names[sid] = str(info["name"])
    return names


async def _thread(backends: Backends, article_id: str, cursor: str | None) -> CommentsPage:
    path = f"/articles/{segment(article_id)}/comments"
    params = {"sort": "oldest", "limit": THREAD_SIZE, "cursor": cursor}
    return parsed(CommentsPage, Service.COMMENTS, await backends.call(Service.COMMENTS, "GET", path, params=params))


async def source(*, backends: Backends, source_id: str, cursor: str | None, part_timeout: float) -> SourceView:
    """A source's name and latest articles; an unknown source is 404, ingest being down only a notice."""
    listing, info = await asyncio.gather(
        latest(backends=backends, source=source_id, cursor=cursor),
        _source_info(backends, source_id, part_timeout),
    )
    if info is None:
        listing.notices.append(NOTICES["source"])
        info = {}
    homepage = info.get("homepage") or info.get("site_url")
    return SourceView(
        id=source_id,
        name=str(info.get("name") or source_id),
        homepage=str(homepage) if homepage else None,
        listing=listing,
    )


async def _source_info(
    backends: Backends, source_id: str, timeout: float, *, quiet: bool = False
) -> dict[str, Any] | None:
    try:
        async with asyncio.timeout(timeout):
            raw = await backends.call(Service.INGEST, "GET", f"/sources/{segment(source_id)}")
    except NewsflowError as exc:
        if exc.status == 404 and not quiet:
            raise NotFound(f"no source {source_id}") from None
        log.warning("page without source details: %s", exc)
        PARTIAL_ANSWERS.labels("source").inc()
        return None
    except TimeoutError:
        log.warning("page without source details: ingest timed out")
        PARTIAL_ANSWERS.labels("source").inc()
        return None
    return {k: raw[k] for k in PUBLIC_SOURCE_FIELDS if k in raw} if isinstance(raw, dict) else None
