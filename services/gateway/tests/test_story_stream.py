"""The story.updated feed: polls the index's story changes only while someone listens, each change once."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from newsflow_gateway.backends import Backends
from newsflow_gateway.settings import ServicesSettings
from newsflow_gateway.streams.hub import SendQueue
from newsflow_gateway.streams.stories import EVENT, StoryFollower
from newsflow_kit.testing import serving


def story(story_id: str, updated: datetime, sources: int = 2) -> dict[str, Any]:
    when = updated.isoformat()
    return {"id": story_id, "title": "T", "size": sources, "sources_count": sources, "sources": [], "languages": [],
            "first_published_at": when, "last_published_at": when, "updated_at": when}  # fmt: skip


class Index:
    """A stand-in of the index's ``/stories/updates``: the stories written so far, and the reads it got."""

    def __init__(self) -> None:
        self.stories: list[dict[str, Any]] = []
        self.reads: list[str] = []
        self.app = Starlette(routes=[Route("/stories/updates", self.updates)])

    async def updates(self, request: Request) -> Response:
        after = request.query_params.get("after", "")
        self.reads.append(after)
        since = datetime.fromisoformat(after)
        items = sorted((s for s in self.stories if datetime.fromisoformat(s["updated_at"]) > since),
                       key=lambda s: (s["updated_at"], s["id"]))  # fmt: skip
        return JSONResponse({"items": items, "removed": [], "next_after": items[-1]["updated_at"] if items else after})


@pytest.fixture(scope="module")
def index() -> Iterator[tuple[Index, str]]:
    stand_in = Index()
    with serving(stand_in.app) as url:
        yield stand_in, url


async def test_each_change_goes_out_once_and_only_while_someone_listens(index: tuple[Index, str]) -> None:
    stand_in, url = index
    backends = Backends(ServicesSettings(index_url=url))
    follower = StoryFollower(backends=backends, poll_s=0.05)
    try:
        now = datetime.now(UTC)
        stand_in.stories = [story("st-old", now - timedelta(minutes=5))]
        await follower.poll()
        assert stand_in.reads == []  # nobody listens: no request at all

        send_queue = SendQueue(16)
        follower.add(send_queue)
        stand_in.stories.append(story("st-a", now + timedelta(seconds=1)))
        await follower.poll()
        await follower.poll()  # the overlap re-reads st-a: it is not sent twice
        items = await send_queue.take()
        assert [(e.name, e.data) for e, _ in items] == [(EVENT, items[0][0].data)]
        assert '"id":"st-a"' in items[0][0].data  # the old story (before the listener came) is not replayed

        stand_in.stories.append(story("st-a", now + timedelta(seconds=2), sources=3))  # st-a changed again
        await follower.poll()
        items = await send_queue.take()
        assert len(items) == 1 and '"sources_count":3' in items[0][0].data

        follower.remove(send_queue)
        reads = len(stand_in.reads)
        await follower.poll()
        assert len(stand_in.reads) == reads
    finally:
        await backends.aclose()
