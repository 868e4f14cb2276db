"""``/v2`` answers from Newsflow's services: index search for the list, ingest and comments for extras.

NewsAPI pages by number, the index by cursor: page *n* is reached by walking the cursor from the
start in chunks (at most ``COMPAT__MAX_RESULTS`` results deep, like NewsAPI's own cap). Each listed
article is then read whole from ingest (bounded concurrency, each within the part time-out) and the
comment counts come in one call; an extra that cannot be had is null and named in ``missing``.
"""

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from newsflow_contracts import ArticleData
from newsflow_gateway.backends import Backends, Service
from newsflow_gateway.compat.newsapi_errors import NewsApiError, parameter_invalid
from newsflow_gateway.compat.newsapi_params import MAX_SOURCES, ArticleQuery, SourceQuery
from newsflow_gateway.compat.newsapi_schemas import (
    Article,
    ArticlesResponse,
    NewsflowExtras,
    Source,
    SourceRef,
    SourcesResponse,
)
from newsflow_gateway.schemas import ArticleSummary
from newsflow_gateway.settings import CompatSettings
from newsflow_kit.errors import NewsflowError

INDEX_PAGE = 50  # the index's largest page


@dataclass(frozen=True)
class SourceInfo:
    id: str
    name: str
    url: str
    language: str
    description: str

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower().removeprefix("www.")

    def on_any(self, domains: Iterable[str]) -> bool:
        return any(self.host == d or self.host.endswith("." + d) for d in domains)


async def load_sources(backends: Backends) -> list[SourceInfo]:
    raw = await backends.call(Service.INGEST, "GET", "/sources")
    items = raw.get("items", []) if isinstance(raw, dict) else raw
    return [
        SourceInfo(
            id=str(s["id"]),
            name=str(s.get("name", "")),
            url=str(s.get("homepage") or s.get("feed_url") or ""),
            language=str(s.get("language", "")),
            description=str(s.get("description") or ""),
        )
        for s in items
        if isinstance(s, dict) and "id" in s
    ]


async def sources(*, backends: Backends, query: SourceQuery) -> SourcesResponse:
    """Every source, filtered by language (a country counts as its language) and category."""
    if query.category not in (None, "general"):
        return SourcesResponse(sources=[])
    found = [s for s in await load_sources(backends) if not query.languages or s.language in query.languages]
    return SourcesResponse(
        sources=[
            Source(
                id=s.id,
                name=s.name,
                description=s.description,
                url=s.url,
                category="general",
                language=s.language,
                country="",
            )  # fmt: skip
            for s in found
        ]
    )


async def articles(
    *, backends: Backends, query: ArticleQuery, settings: CompatSettings, part_timeout: float
) -> ArticlesResponse:
    """One NewsAPI page of articles."""
    paging = query.paging
    if paging.offset + paging.page_size > settings.max_results:
        raise NewsApiError(
            426,
            "maximumResultsReached",
            f"You have requested too many results: at most {settings.max_results} can be paged through.",
        )
    chosen = await _source_filter(backends, query)
    if chosen == ():
        return ArticlesResponse(totalResults=0, articles=[])
    params: dict[str, Any] = {
        "q": query.q,
        "source": list(chosen) if chosen is not None else None,
        "tag": list(query.tags) or None,
        "lang": list(query.languages) or None,
        "from": query.date_from,
        "to": query.date_to,
        "sort": query.sort,
        "in": query.search_in if query.search_in != "all" else None,
    }
    total, items = await _window(backends, params, paging.offset, paging.page_size)
    return ArticlesResponse(
        totalResults=total,
        articles=await _enriched(backends, items, settings=settings, part_timeout=part_timeout),
    )


async def _source_filter(backends: Backends, query: ArticleQuery) -> tuple[str, ...] | None:
    """The source ids to search (None: every source; empty: nothing can match)."""
    if not query.domains and not query.exclude_domains:
        return query.sources or None
    known = await load_sources(backends)
    chosen = {s.id for s in known}
    if query.sources:
        chosen &= set(query.sources)
    if query.domains:
        chosen &= {s.id for s in known if s.on_any(query.domains)}
    if query.exclude_domains:
        chosen -= {s.id for s in known if s.on_any(query.exclude_domains)}
    if len(chosen) > MAX_SOURCES:
        raise parameter_invalid(
            f"excludeDomains leaves {len(chosen)} sources and at most {MAX_SOURCES} can be searched at once: "
            "name the sources or domains to search instead."
        )
    return tuple(sorted(chosen))


async def _window(backends: Backends, params: dict[str, Any], offset: int, size: int) -> tuple[int, list[Any]]:
    """Items ``offset .. offset+size`` of the index's answer, walking its cursor; and the total."""
    end, seen, cursor = offset + size, 0, None
    out: list[Any] = []
    total = 0
    while True:
        chunk = min(INDEX_PAGE, end - seen)
        page = await backends.call(Service.INDEX, "GET", "/search", params={**params, "size": chunk, "cursor": cursor})
        total = int(page.get("total", 0))
        batch = page.get("items", [])
        out.extend(batch[max(0, offset - seen) : max(0, end - seen)])
        seen += len(batch)
        cursor = page.get("next_cursor")
        if seen >= end or not batch or not cursor:
            return total, out


async def _enriched(
    backends: Backends, raw_items: list[Any], *, settings: CompatSettings, part_timeout: float
) -> list[Article]:
    items = [ArticleSummary.model_validate(raw) for raw in raw_items]
    if not items:
        return []
    counting = asyncio.create_task(_counts(backends, items, part_timeout))
    full = await backends.published([i.id for i in items], concurrency=settings.fetch_concurrency, timeout=part_timeout)
    counts = await counting
    return [_article(item, data, counts, settings.content_chars) for item, data in zip(items, full, strict=True)]


async def _counts(backends: Backends, items: list[ArticleSummary], timeout: float) -> dict[str, int] | None:
    try:
        async with asyncio.timeout(timeout):
            body = {"article_ids": [i.id for i in items]}
            answer = await backends.call(Service.COMMENTS, "POST", "/comments/counts", json=body)
    except (NewsflowError, TimeoutError):
        return None
    counts = answer.get("counts") if isinstance(answer, dict) else None
    return {str(k): int(v) for k, v in counts.items()} if isinstance(counts, dict) else None


def _article(item: ArticleSummary, data: ArticleData | None, counts: dict[str, int] | None, chars: int) -> Article:
    missing = [name for name, part in (("body", data), ("commentCount", counts)) if part is None]
    text = data.body_text if data is not None else ""
    return Article(
        source=SourceRef(id=item.source_id, name=item.source_name or item.source_id),
        author=", ".join(item.authors) or None,
        title=item.title,
        description=item.summary or None,
        url=item.url,
        urlToImage=item.image_url,
        publishedAt=instant(item.published_at),
        content=truncated(text, chars) if text else (item.summary or None),
        newsflow=NewsflowExtras(
            id=item.id,
            language=item.language,
            tags=item.tags,
            keyPoints=data.key_points if data is not None else None,
            body=data.body_html if data is not None else None,
            bodyText=text if data is not None else None,
            commentCount=counts.get(item.id, 0) if counts is not None else None,
            version=data.version if data is not None else None,
            updatedAt=instant(data.updated_at) if data is not None else None,
            missing=missing,
        ),
    )


def truncated(text: str, chars: int) -> str:
    """NewsAPI's ``content``: the start of the text and how many characters were left out."""
    if len(text) <= chars:
        return text
    return f"{text[:chars]}… [+{len(text) - chars} chars]"


def instant(value: datetime | None) -> str:
    """``2026-11-29T05:01:11Z``, as NewsAPI writes times."""
    when = (value or datetime.now(UTC)).astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
