"""WebSub callbacks (``/websub/callback/{source_id}``): hubs verify intent (GET) and push content (POST)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from newsflow_ingest.deps import StateDep
from newsflow_kit.errors import NotFound

router = APIRouter(prefix="/websub", tags=["websub"])
HubParam = Annotated[str | None, Query(max_length=2000)]
MAX_PUSH_BYTES = 10 << 20


@router.get("/callback/{source_id}")
async def verify(
    source_id: str,
    state: StateDep,
    mode: Annotated[str, Query(alias="hub.mode", max_length=20)],
    topic: Annotated[str, Query(alias="hub.topic", max_length=2000)],
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=500)],
    lease_seconds: Annotated[str | None, Query(alias="hub.lease_seconds", max_length=20)] = None,
) -> Response:
    """A hub verifies a (un)subscription: the challenge is echoed only for what this source asked."""
    if not await state.websub.confirm(source_id, mode=mode, topic=topic, lease_seconds=lease_seconds):
        raise NotFound("no such subscription")
    return Response(challenge, media_type="text/plain")


@router.post("/callback/{source_id}", status_code=202)
async def push(source_id: str, request: Request, state: StateDep) -> Response:
    """Content from the hub: ingested now when its signature is right (2xx either way, per WebSub)."""
    source = await state.sources.get(source_id)
    if source is None:
        raise NotFound("no such source")
    body = await request.body()
    if len(body) <= MAX_PUSH_BYTES:
        await state.websub.receive(
            ingestor=state.ingestor,
            source=source,
            body=body,
            content_type=request.headers.get("content-type", ""),
            signature=request.headers.get("x-hub-signature"),
        )
    return Response(status_code=202)
