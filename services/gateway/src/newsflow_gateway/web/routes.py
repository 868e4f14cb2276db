"""The web site's routes: server-rendered pages over the same backends as ``/v1``.

Not part of the OpenAPI schema. Errors render as HTML pages (the API's problem details are for
machines); every page carries a strict Content-Security-Policy. Rate limited like the API.
"""

from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse

from newsflow_gateway.backends import Service, segment
from newsflow_gateway.deps import Cursor, GatewayDep, IdPath, SmallBody, StoryId, Text, Token, caller, reader
from newsflow_gateway.error_routes import ErrorAnsweringRoute
from newsflow_gateway.schemas import CommentCreated
from newsflow_gateway.web import pages
from newsflow_gateway.web.forms import CommentForm, check_same_origin, read_comment_form
from newsflow_gateway.web.rendering import page
from newsflow_kit.errors import InvalidInput, NewsflowError, NotFound

TagPath = Annotated[str, Path(min_length=1, max_length=100)]
# After a comment is posted the reader lands on the thread with one of these (fixed) messages.
POSTED = {
    "visible": "Thank you: your comment is published.",
    "held": "Thank you: your comment will appear once a moderator has approved it.",
}


class PageRoute(ErrorAnsweringRoute):
    """A route whose errors (its dependencies' too) are HTML pages with the same status and headers."""

    def answer_error(self, request: Request, exc: Exception) -> Response | None:
        if isinstance(exc, NewsflowError):
            return error_page(request, exc)
        if isinstance(exc, RequestValidationError):
            in_path = any(err.get("loc", ("",))[0] == "path" for err in exc.errors())
            return error_page(request, NotFound("no such page") if in_path else InvalidInput("invalid address"))
        return None


def error_page(request: Request, exc: NewsflowError) -> Response:
    return page(
        request,
        "error.html",
        {"status": exc.status, "title": exc.title, "detail": exc.detail},
        status=exc.status,
        headers=exc.headers,
    )


router = APIRouter(
    route_class=PageRoute,
    include_in_schema=False,
    dependencies=[Depends(caller)],
    default_response_class=HTMLResponse,
)


def stream_url(**filters: str) -> str:
    """Where the page's script listens for new articles (same filters as the list)."""
    return "/v1/stream" + (f"?{urlencode(filters)}" if filters else "")


@router.get("/")
async def home(request: Request, gw: GatewayDep, cursor: Cursor = None) -> Response:
    """The latest articles; new ones appear live when JavaScript runs."""
    listing = await pages.latest(backends=gw.backends, cursor=cursor)
    live = stream_url() if cursor is None else None
    return page(request, "home.html", {"listing": listing, "notices": listing.notices, "stream": live, "nav": "home"})


@router.get("/articles/{article_id}")
async def article(
    request: Request,
    article_id: IdPath,
    gw: GatewayDep,
    comments: Cursor = None,
    posted: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """One article with its key points, tags, related articles and comment thread."""
    return await _article_page(request, gw, article_id, comments_cursor=comments, posted=posted)


@router.post("/articles/{article_id}/comments", dependencies=[SmallBody])
async def post_comment(request: Request, article_id: IdPath, gw: GatewayDep) -> Response:
    """Posts the comment form, then redirects back to the thread (POST/redirect/GET)."""
    check_same_origin(request)
    form = await read_comment_form(request)
    if form.comment is None:
        return await _article_page(request, gw, article_id, form=form, status=422)
    path = f"/articles/{segment(article_id)}/comments"
    payload = form.comment.model_dump(mode="json", exclude_none=True)
    try:
        raw = await gw.backends.call(Service.COMMENTS, "POST", path, json=payload, headers=reader(request))
    except NewsflowError as exc:
        form.errors.append(exc.detail)
        return await _article_page(request, gw, article_id, form=form, status=exc.status, headers=exc.headers)
    created = pages.parsed(CommentCreated, Service.COMMENTS, raw)
    posted = "visible" if created.comment.status == "visible" else "held"
    return RedirectResponse(f"/articles/{segment(article_id)}?posted={posted}#comments", status_code=303)


@router.get("/stories/{story_id}")
async def story_page(request: Request, story_id: StoryId, gw: GatewayDep) -> Response:
    """One story: the same event told by several sources; a merged story's old address redirects."""
    story = await pages.story(backends=gw.backends, story_id=story_id)
    if story.id != story_id:
        return RedirectResponse(f"/stories/{segment(story.id)}", status_code=301)
    return page(request, "story.html", {"story": story, "notices": []})


@router.get("/search")
async def search(
    request: Request,
    gw: GatewayDep,
    q: Text = None,
    tag: Token = None,
    source: Token = None,
    sort: Literal["relevance", "newest"] = "relevance",
    cursor: Cursor = None,
) -> Response:
    """Search results with highlighted matches; without a query, just the search form."""
    q, tag, source = q or None, tag or None, source or None  # an empty box is no filter
    params = {"q": q, "tag": tag, "source": source, "sort": sort, "cursor": cursor}
    listing = await pages.search(backends=gw.backends, params=params) if (q or tag or source) else None
    notices = listing.notices if listing is not None else []
    names: dict[str, str] = {}
    if listing is not None:
        timeout = gw.settings.services.part_timeout_s
        also = [source] if source else []
        names = await pages.source_names(backends=gw.backends, listing=listing, part_timeout=timeout, also=also)
    context: dict[str, Any] = {"listing": listing, "notices": notices, "q": q or "", "tag": tag, "source": source}
    context |= {"sort": sort, "source_names": names, "nav": "search"}
    return page(request, "search.html", context)


@router.get("/tags/{tag}")
async def tag_page(request: Request, tag: TagPath, gw: GatewayDep, cursor: Cursor = None) -> Response:
    """The latest articles with one tag."""
    listing = await pages.latest(backends=gw.backends, tag=tag, cursor=cursor)
    live = stream_url(tag=tag) if cursor is None else None
    context = {"listing": listing, "notices": listing.notices, "heading": f"#{tag}", "stream": live}
    return page(request, "listing.html", {**context, "here": f"/tags/{segment(tag)}"})


@router.get("/sources/{source_id}")
async def source_page(request: Request, source_id: IdPath, gw: GatewayDep, cursor: Cursor = None) -> Response:
    """One source's latest articles."""
    timeout = gw.settings.services.part_timeout_s
    view = await pages.source(backends=gw.backends, source_id=source_id, cursor=cursor, part_timeout=timeout)
    live = stream_url(source=source_id) if cursor is None else None
    context = {"listing": view.listing, "notices": view.listing.notices, "heading": view.name, "stream": live}
    return page(request, "listing.html", {**context, "here": f"/sources/{segment(source_id)}", "source": view})


async def _article_page(
    request: Request,
    gw: GatewayDep,
    article_id: str,
    *,
    comments_cursor: str | None = None,
    posted: str | None = None,
    form: CommentForm | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    timeout = gw.settings.services.part_timeout_s
    view = await pages.article(
        backends=gw.backends, article_id=article_id, part_timeout=timeout, comments_cursor=comments_cursor
    )
    context = {
        "view": view,
        "notices": view.notices,
        "posted": POSTED.get(posted or ""),
        "form": form or CommentForm(values={}),
    }
    return page(request, "article.html", context, status=status, headers=headers)
