"""Out-feeds (``/feeds/...``): Atom, RSS and JSON Feed of latest, a tag, a source, a language, a search.

Anonymous and rate limited like the rest; conditional GET (``ETag`` / ``Last-Modified`` → 304).
Not in the OpenAPI schema (they are not JSON API resources); docs/compat.md lists them.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from newsflow_gateway.compat.outfeeds import Content, Feed, Format, Scope, collect, last_modified, not_modified, render
from newsflow_gateway.deps import GatewayDep, IdPath, caller

router = APIRouter(prefix="/feeds", tags=["feeds"], include_in_schema=False, dependencies=[Depends(caller)])
FormatPath = Annotated[Format, Path(description="atom, rss or json")]
TagPath = Annotated[str, Path(min_length=1, max_length=100)]
LangPath = Annotated[str, Path(pattern=r"^[a-z]{2}$")]
ContentQuery = Annotated[Content, Query(description="full: the whole body; summary: the summary only")]
IfNoneMatch = Annotated[str | None, Header(max_length=2000)]
IfModifiedSince = Annotated[str | None, Header(max_length=100)]


async def _answer(
    request: Request, gw: GatewayDep, scope: Scope, fmt: Format, content: Content, etag: str | None, since: str | None
) -> Response:
    settings = gw.settings
    entries = await collect(
        backends=gw.backends,
        scope=scope,
        size=settings.compat.feed_size,
        part_timeout=settings.services.part_timeout_s,
    )
    base = (settings.compat.public_url or str(request.base_url)).rstrip("/")
    hub = f"{base}/websub/hub" if settings.websub.advertise else None
    feed = Feed(scope=scope, base_url=base, entries=entries, hub_url=hub)
    headers = {
        "ETag": feed.etag(fmt, content),
        "Last-Modified": last_modified(feed),
        "Cache-Control": f"public, max-age={settings.compat.feed_max_age_s}",
        "Vary": "Accept-Encoding",
    }
    if hub:
        headers["Link"] = f'<{hub}>; rel="hub", <{feed.url(fmt)}>; rel="self"'
    if not_modified(feed, fmt, content, if_none_match=etag, since=since):
        return Response(status_code=304, headers=headers)
    return Response(render(feed, fmt, content), media_type=fmt.media_type, headers=headers)


@router.get("/latest.{fmt}")
async def latest(
    request: Request,
    gw: GatewayDep,
    fmt: FormatPath,
    content: ContentQuery = "full",
    if_none_match: IfNoneMatch = None,
    if_modified_since: IfModifiedSince = None,
) -> Response:
    """The newest articles."""
    return await _answer(request, gw, Scope("latest"), fmt, content, if_none_match, if_modified_since)


@router.get("/tags/{tag}.{fmt}")
async def tag(
    request: Request,
    gw: GatewayDep,
    tag: TagPath,
    fmt: FormatPath,
    content: ContentQuery = "full",
    if_none_match: IfNoneMatch = None,
    if_modified_since: IfModifiedSince = None,
) -> Response:
    """The newest articles with a tag."""
    return await _answer(request, gw, Scope("tag", tag), fmt, content, if_none_match, if_modified_since)


@router.get("/sources/{source_id}.{fmt}")
async def source(
    request: Request,
    gw: GatewayDep,
    source_id: IdPath,
    fmt: FormatPath,
    content: ContentQuery = "full",
    if_none_match: IfNoneMatch = None,
    if_modified_since: IfModifiedSince = None,
) -> Response:
    """The newest articles of a source."""
    return await _answer(request, gw, Scope("source", source_id), fmt, content, if_none_match, if_modified_since)


@router.get("/languages/{lang}.{fmt}")
async def language(
    request: Request,
    gw: GatewayDep,
    lang: LangPath,
    fmt: FormatPath,
    content: ContentQuery = "full",
    if_none_match: IfNoneMatch = None,
    if_modified_since: IfModifiedSince = None,
) -> Response:
    """The newest articles in a language."""
    return await _answer(request, gw, Scope("language", lang), fmt, content, if_none_match, if_modified_since)


@router.get("/search.{fmt}")
async def search(
    request: Request,
    gw: GatewayDep,
    fmt: FormatPath,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    content: ContentQuery = "full",
    if_none_match: IfNoneMatch = None,
    if_modified_since: IfModifiedSince = None,
) -> Response:
    """The newest articles matching a search (the search box's syntax)."""
    return await _answer(request, gw, Scope("search", q.strip()), fmt, content, if_none_match, if_modified_since)
