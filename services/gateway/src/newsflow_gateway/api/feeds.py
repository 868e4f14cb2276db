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


class FeedAnswer:
    """What every out-feed route takes besides its scope (format, content, conditional headers): answers one."""

    def __init__(
        self,
        request: Request,
        gw: GatewayDep,
        fmt: FormatPath,
        content: ContentQuery = "full",
        if_none_match: IfNoneMatch = None,
        if_modified_since: IfModifiedSince = None,
    ) -> None:
        self.request, self.gw, self.fmt, self.content = request, gw, fmt, content
        self.etag, self.since = if_none_match, if_modified_since

    async def of(self, scope: Scope) -> Response:
        settings = self.gw.settings
        entries = await collect(
            backends=self.gw.backends,
            scope=scope,
            size=settings.compat.feed_size,
            part_timeout=settings.services.part_timeout_s,
        )
        base = (settings.compat.public_url or str(self.request.base_url)).rstrip("/")
        hub = f"{base}/websub/hub" if settings.websub.advertise else None
        feed = Feed(scope=scope, base_url=base, entries=entries, hub_url=hub)
        fmt, content = self.fmt, self.content
        headers = {
            "ETag": feed.etag(fmt, content),
            "Last-Modified": last_modified(feed),
            "Cache-Control": f"public, max-age={settings.compat.feed_max_age_s}",
            "Vary": "Accept-Encoding",
        }
        if hub:
            headers["Link"] = f'<{hub}>; rel="hub", <{feed.url(fmt)}>; rel="self"'
        if not_modified(feed, fmt, content, if_none_match=self.etag, since=self.since):
            return Response(status_code=304, headers=headers)
        return Response(render(feed, fmt, content), media_type=fmt.media_type, headers=headers)


Answer = Annotated[FeedAnswer, Depends()]


@router.get("/latest.{fmt}")
async def latest(answer: Answer) -> Response:
    """The newest articles."""
    return await answer.of(Scope("latest"))


@router.get("/tags/{tag}.{fmt}")
async def tag(answer: Answer, tag: TagPath) -> Response:
    """The newest articles with a tag."""
    return await answer.of(Scope("tag", tag))


@router.get("/sources/{source_id}.{fmt}")
async def source(answer: Answer, source_id: IdPath) -> Response:
    """The newest articles of a source."""
    return await answer.of(Scope("source", source_id))


@router.get("/languages/{lang}.{fmt}")
async def language(answer: Answer, lang: LangPath) -> Response:
    """The newest articles in a language."""
    return await answer.of(Scope("language", lang))


@router.get("/search.{fmt}")
async def search(answer: Answer, q: Annotated[str, Query(min_length=1, max_length=500)]) -> Response:
    """The newest articles matching a search (the search box's syntax)."""
    return await answer.of(Scope("search", q.strip()))
