"""Admin: API keys (create, list, revoke)."""

from fastapi import Depends

from newsflow_gateway.api import v1_router
from newsflow_gateway.backends import Service, UpstreamError, segment
from newsflow_gateway.deps import GatewayDep, IdPath, admin
from newsflow_gateway.keys import ApiKey
from newsflow_gateway.schemas import KeyCreate, KeyCreated, KeyRead, KeysPage
from newsflow_kit.errors import InvalidInput

router = v1_router(tags=["admin"])
router.dependencies.append(Depends(admin))


def _read(key: ApiKey) -> KeyRead:
    return KeyRead.model_validate(key)


@router.post("/admin/keys", status_code=201, response_model=KeyCreated)
async def create_key(body: KeyCreate, gw: GatewayDep) -> KeyCreated:
    """Creates a key; the key itself is in this answer only."""
    if body.source_id is not None:
        try:
            await gw.backends.call(Service.INGEST, "GET", f"/sources/{segment(body.source_id)}")
        except UpstreamError as exc:
            if exc.status != 404:
                raise
            raise InvalidInput(
                f"unknown source {body.source_id}", errors=[{"field": "source_id", "message": "unknown source"}]
            ) from None
    record, plain = await gw.keys.create(name=body.name, role=body.role, source_id=body.source_id)
    return KeyCreated(**_read(record).model_dump(), key=plain)


@router.get("/admin/keys", response_model=KeysPage)
async def list_keys(gw: GatewayDep) -> KeysPage:
    """Every key (never the key itself), revoked ones included."""
    return KeysPage(items=[_read(k) for k in await gw.keys.list()])


@router.delete("/admin/keys/{key_id}", response_model=KeyRead)
async def revoke_key(key_id: IdPath, gw: GatewayDep) -> KeyRead:
    """Revokes a key at once."""
    return _read(await gw.keys.revoke(key_id))
