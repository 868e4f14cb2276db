"""Live streams over Server-Sent Events: new and updated articles, and one article's comments."""

from typing import Annotated, Any

from fastapi import Header, Query

from newsflow_gateway.api import v1_router
from newsflow_gateway.deps import Filters, GatewayDep, IdPath
from newsflow_gateway.streams.events import StreamEvent, control
from newsflow_gateway.streams.hub import ArticleSubscription, CommentSubscription
from newsflow_gateway.streams.replay import missed_since
from newsflow_gateway.streams.sse import EventStreamResponse
from newsflow_kit.errors import InvalidInput

router = v1_router(tags=["streams"])
SSE: dict[int | str, dict[str, Any]] = {200: {"description": "An event stream", "content": {"text/event-stream": {}}}}


def parse_cursor(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 19:
        raise InvalidInput("Last-Event-ID must be an event id of this stream", errors=[{"field": "Last-Event-ID"}])
    return int(value)


@router.get("/stream", response_class=EventStreamResponse, responses=SSE, status_code=200)
async def article_stream(
    gw: GatewayDep,
    filters: Filters,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
    since: Annotated[str | None, Query(max_length=40, description="Same as Last-Event-ID")] = None,
) -> EventStreamResponse:
    """New and updated articles matching the filter; resumes after ``Last-Event-ID`` without gap or repeat."""
    cursor = parse_cursor(last_event_id or since)
    hub = gw.hub
    send_queue = hub.open()
    sub = ArticleSubscription(filters, send_queue, after=cursor)
    hub.add(sub)  # before reading the gap: whatever arrives meanwhile waits in sub.pending
    first: list[StreamEvent] = []
    try:
        if cursor is not None:
            missed = await missed_since(
                hub=hub, backends=gw.backends, flt=filters, since=cursor, settings=gw.settings.streams
            )
            sub.seen.update(event.seq for event in missed.events)
            first = [*missed.events]
            if not missed.complete:
                first.append(control("reset", detail="too many missed events: refetch the latest articles"))
    except BaseException:
        hub.release(send_queue, [sub])
        raise
    return EventStreamResponse(
        hub=hub, send_queue=send_queue, release=lambda: hub.release(send_queue, [sub]), first=first, go_live=sub.go_live
    )


@router.get(
    "/articles/{article_id}/comments/stream", response_class=EventStreamResponse, responses=SSE, status_code=200
)
async def comment_stream(article_id: IdPath, gw: GatewayDep) -> EventStreamResponse:
    """Comments of one article as they are posted, edited, moderated or removed."""
    hub = gw.hub
    send_queue = hub.open()
    sub = CommentSubscription(article_id, send_queue)
    hub.add(sub)
    return EventStreamResponse(hub=hub, send_queue=send_queue, release=lambda: hub.release(send_queue, [sub]))
