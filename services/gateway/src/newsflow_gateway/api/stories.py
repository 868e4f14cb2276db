"""Stories: articles about one event from several sources (clustered by the index service; docs/ai.md)."""

from typing import Annotated, Any

from fastapi import Depends, Query, Request

from newsflow_contracts import PAGE_SIZE_MAX
from newsflow_gateway.api import Cursor, v1_router
from newsflow_gateway.api.streams import SSE
from newsflow_gateway.backends import Service, segment
from newsflow_gateway.deps import GatewayDep, StoryId
from newsflow_gateway.schemas import StoriesPage, StoryDetail
from newsflow_gateway.streams.sse import EventStreamResponse
from newsflow_gateway.streams.stories import StoryFollower

router = v1_router(tags=["stories"])


@router.get("/stories", response_model=StoriesPage)
async def stories(
    gw: GatewayDep,
    size: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)] = 20,
    cursor: Cursor = None,
    min_size: Annotated[int, Query(ge=1, le=1000, description="Only stories with at least this many articles.")] = 2,
) -> Any:
    """Recent stories (the latest published-into first) with their size and sources."""
    params = {"size": size, "cursor": cursor, "min_size": min_size}
    return await gw.backends.relay(Service.INDEX, "/stories", params=params)


async def _follower(request: Request) -> StoryFollower:
    follower: StoryFollower = request.app.state.stories
    return follower


@router.get("/stories/stream", response_class=EventStreamResponse, responses=SSE, status_code=200)
async def story_stream(gw: GatewayDep, follower: Annotated[StoryFollower, Depends(_follower)]) -> EventStreamResponse:
    """``story.updated`` events: a story's summary each time it gains, loses or merges articles."""
    send_queue = gw.hub.open()
    follower.add(send_queue)

    def release() -> None:
        follower.remove(send_queue)
        gw.hub.release(send_queue, [])

    return EventStreamResponse(hub=gw.hub, send_queue=send_queue, release=release)


@router.get("/stories/{story_id}", response_model=StoryDetail)
async def story(story_id: StoryId, gw: GatewayDep) -> Any:
    """One story, its articles and sources; a merged story's id answers the story it joined (see ``id``)."""
    return await gw.backends.relay(Service.INDEX, f"/stories/{segment(story_id)}")
