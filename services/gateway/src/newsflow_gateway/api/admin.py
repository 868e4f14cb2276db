"""Admin (admin key): sources → ingest, comment moderation → comments."""

from typing import Annotated, Any

from fastapi import Body, Depends, Query, Response

from newsflow_contracts import BanCreate
from newsflow_gateway.api import v1_router
from newsflow_gateway.backends import Service, segment
from newsflow_gateway.deps import Cursor, GatewayDep, IdPath, admin
from newsflow_gateway.schemas import CommentsPage, JSONObject

router = v1_router(tags=["admin"])
router.dependencies.append(Depends(admin))
Obj = Annotated[dict[str, Any], Body()]


def _source(source_id: str, action: str = "") -> str:
    return f"/sources/{segment(source_id)}{action}"


@router.post("/admin/sources", status_code=201, response_model=JSONObject)
async def create_source(body: Obj, gw: GatewayDep) -> Any:
    """Registers a source (a feed to poll, or a publisher pushing)."""
    return await gw.backends.call(Service.INGEST, "POST", "/sources", json=body)


@router.get("/admin/sources", response_model=JSONObject | list[JSONObject])
async def list_sources(gw: GatewayDep) -> Any:
    """Every source with its full configuration."""
    return await gw.backends.call(Service.INGEST, "GET", "/sources")


@router.get("/admin/sources/{source_id}", response_model=JSONObject)
async def get_source(source_id: IdPath, gw: GatewayDep) -> Any:
    """One source."""
    return await gw.backends.call(Service.INGEST, "GET", _source(source_id))


@router.patch("/admin/sources/{source_id}", response_model=JSONObject)
async def update_source(source_id: IdPath, body: Obj, gw: GatewayDep) -> Any:
    """Changes a source's settings."""
    return await gw.backends.call(Service.INGEST, "PATCH", _source(source_id), json=body)


@router.delete("/admin/sources/{source_id}", status_code=204, response_class=Response)
async def delete_source(source_id: IdPath, gw: GatewayDep) -> Response:
    """Removes a source."""
    await gw.backends.call(Service.INGEST, "DELETE", _source(source_id))
    return Response(status_code=204)


@router.post("/admin/sources/{source_id}:pause", response_model=JSONObject)
async def pause_source(source_id: IdPath, gw: GatewayDep) -> Any:
    """Stops polling a source."""
    return await gw.backends.call(Service.INGEST, "POST", _source(source_id, ":pause"))


@router.post("/admin/sources/{source_id}:resume", response_model=JSONObject)
async def resume_source(source_id: IdPath, gw: GatewayDep) -> Any:
    """Resumes polling a source."""
    return await gw.backends.call(Service.INGEST, "POST", _source(source_id, ":resume"))


@router.get("/admin/sources/{source_id}/status", response_model=JSONObject)
async def source_status(source_id: IdPath, gw: GatewayDep) -> Any:
    """A source's fetch status: last fetch, errors, next run."""
    return await gw.backends.call(Service.INGEST, "GET", _source(source_id, "/status"))


@router.get("/admin/comments/queue", response_model=CommentsPage)
async def moderation_queue(
    gw: GatewayDep, cursor: Cursor = None, limit: Annotated[int, Query(ge=1, le=100)] = 50
) -> Any:
    """Comments waiting for a moderator."""
    params = {"cursor": cursor, "limit": limit}
    return await gw.backends.call(Service.COMMENTS, "GET", "/moderation/queue", params=params)


async def _moderate(gw: GatewayDep, comment_id: str, action: str) -> Any:
    return await gw.backends.call(Service.COMMENTS, "POST", f"/moderation/comments/{segment(comment_id)}:{action}")


@router.post("/admin/comments/{comment_id}:approve", response_model=JSONObject)
async def approve_comment(comment_id: IdPath, gw: GatewayDep) -> Any:
    """Publishes a held comment."""
    return await _moderate(gw, comment_id, "approve")


@router.post("/admin/comments/{comment_id}:reject", response_model=JSONObject)
async def reject_comment(comment_id: IdPath, gw: GatewayDep) -> Any:
    """Rejects a held comment."""
    return await _moderate(gw, comment_id, "reject")


@router.post("/admin/comments/{comment_id}:remove", response_model=JSONObject)
async def remove_comment(comment_id: IdPath, gw: GatewayDep) -> Any:
    """Takes down a published comment."""
    return await _moderate(gw, comment_id, "remove")


@router.post("/admin/comments/bans", response_model=JSONObject)
async def ban(body: BanCreate, gw: GatewayDep) -> Any:
    """Bans an author, by fingerprint or by one of their comments."""
    payload = body.model_dump(mode="json", exclude_none=True)
    return await gw.backends.call(Service.COMMENTS, "POST", "/moderation/bans", json=payload)


@router.get("/admin/comments/policy", response_model=JSONObject)
async def get_policy(gw: GatewayDep) -> Any:
    """The moderation policy (pre-moderation, word lists, limits)."""
    return await gw.backends.call(Service.COMMENTS, "GET", "/moderation/policy")


@router.put("/admin/comments/policy", response_model=JSONObject)
async def put_policy(body: Obj, gw: GatewayDep) -> Any:
    """Replaces the moderation policy."""
    return await gw.backends.call(Service.COMMENTS, "PUT", "/moderation/policy", json=body)
