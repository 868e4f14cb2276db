"""Reading: latest, one article (with comment count and related), search, suggest, trending, sources."""

from typing import Annotated, Any, Literal

from fastapi import Query

from newsflow_contracts import PAGE_SIZE_MAX, SUGGEST_QUERY_MAX_CHARS
from newsflow_gateway.api import v1_router
from newsflow_gateway.backends import Service, segment
from newsflow_gateway.deps import Cursor, Filters, GatewayDep, IdPath, Token
from newsflow_gateway.schemas import (
    ArticleDetail,
    ArticlesPage,
    JSONObject,
    RelatedPage,
    SearchPage,
    SuggestPage,
    TrendingPage,
)
from newsflow_gateway.service import article_page, public_sources

router = v1_router(tags=["reading"])
Size = Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)]


@router.get("/articles", response_model=ArticlesPage)
async def latest(
    gw: GatewayDep, source: Token = None, tag: Token = None, lang: Token = None, cursor: Cursor = None, size: Size = 20
) -> Any:
    """Latest articles, newest first, optionally of one source, tag or language."""
    params = {"source": source, "tag": tag, "lang": lang, "cursor": cursor, "size": size}
    return await gw.backends.relay(Service.INDEX, "/latest", params=params)


@router.get("/articles/{article_id}", response_model=ArticleDetail)
async def article(article_id: IdPath, gw: GatewayDep) -> ArticleDetail:
    """One article with its comment count and related articles (``missing`` names what is unavailable)."""
    timeout = gw.settings.services.part_timeout_s
    return await article_page(backends=gw.backends, article_id=article_id, part_timeout=timeout)


@router.get("/articles/{article_id}/related", response_model=RelatedPage)
async def related(
    article_id: IdPath,
    gw: GatewayDep,
    size: Annotated[int, Query(ge=1, le=50)] = 10,
    cross_language: Annotated[bool, Query(description="Alternate other languages' coverage in.")] = False,
) -> Any:
    """Articles like this one (``method``: hybrid, or bm25 with a ``note`` when vectors are missing)."""
    path = f"/articles/{segment(article_id)}/related"
    params = {"size": size, "cross_language": str(cross_language).lower()}
    return await gw.backends.relay(Service.INDEX, path, params=params)


@router.get("/search", response_model=SearchPage)
async def search(
    gw: GatewayDep,
    filters: Filters,
    from_: Annotated[str | None, Query(alias="from", max_length=40, description="ISO date or date-time")] = None,
    to: Annotated[str | None, Query(max_length=40, description="ISO date or date-time")] = None,
    sort: Literal["relevance", "newest"] = "relevance",
    size: Size = 20,
    cursor: Cursor = None,
) -> Any:
    """Full-text search with filters, facets, highlights and a cursor to the next page."""
    params = {**filters.params(), "from": from_, "to": to, "sort": sort, "size": size, "cursor": cursor}
    return await gw.backends.relay(Service.INDEX, "/search", params=params)


@router.get("/suggest", response_model=SuggestPage)
async def suggest(gw: GatewayDep, q: Annotated[str, Query(min_length=1, max_length=SUGGEST_QUERY_MAX_CHARS)]) -> Any:
    """Titles completing what is typed so far."""
    return await gw.backends.relay(Service.INDEX, "/suggest", params={"q": q})


@router.get("/tags/trending", response_model=TrendingPage)
async def trending(gw: GatewayDep, window: Annotated[str, Query(pattern=r"^[1-9][0-9]{0,2}[hd]$")] = "24h") -> Any:
    """Tags rising in the recent window (e.g. ``24h``, ``7d``)."""
    return await gw.backends.relay(Service.INDEX, "/tags/trending", params={"window": window})


@router.get("/sources", response_model=JSONObject)
async def sources(gw: GatewayDep) -> Any:
    """The sources articles come from (public fields only)."""
    return public_sources(await gw.backends.call(Service.INGEST, "GET", "/sources"))
