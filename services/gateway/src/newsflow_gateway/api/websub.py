"""The WebSub hub endpoint (``POST /websub/hub``) of the out-feeds: 202, then intent is verified."""

import asyncio
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, Response

from newsflow_gateway.compat.websub import parse_request, verify_intent
from newsflow_gateway.deps import GatewayDep, HubState, caller
from newsflow_kit.errors import InvalidInput, PayloadTooLarge

router = APIRouter(prefix="/websub", tags=["websub"], include_in_schema=False, dependencies=[Depends(caller)])
MAX_FORM = 8 << 10


@router.post("/hub", status_code=202)
async def hub(request: Request, gw: GatewayDep) -> Response:
    """Subscribe or unsubscribe (``application/x-www-form-urlencoded``: hub.mode, hub.callback,
    hub.topic, hub.lease_seconds, hub.secret); the callback is asked to confirm afterwards."""
    body = await request.body()
    if len(body) > MAX_FORM:
        raise PayloadTooLarge(f"a hub request is at most {MAX_FORM} bytes")
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise InvalidInput("a hub request is application/x-www-form-urlencoded")
    wanted = parse_request(parse_qs(body.decode("utf-8", errors="replace")), gw.settings.websub)
    state: HubState = request.app.state.websub
    task = asyncio.create_task(
        verify_intent(
            client=state.client,
            subscriptions=state.subscriptions,
            request=wanted,
            allow=gw.settings.websub.allow_hosts,
        )
    )
    state.pending.add(task)
    task.add_done_callback(state.pending.discard)
    return Response(status_code=202)
