"""Admin: OPML import of a reader's subscriptions into sources, and export of all sources as OPML."""

from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from newsflow_gateway.api import v1_router
from newsflow_gateway.compat import opml
from newsflow_gateway.compat.opml_import import export, import_entries
from newsflow_gateway.deps import GatewayDep, admin
from newsflow_gateway.schemas import JSONObject

router = v1_router(tags=["admin"])
router.dependencies.append(Depends(admin))
OPML_BODY = {
    "requestBody": {
        "required": True,
        "content": {media: {"schema": {"type": "string"}} for media in ("text/x-opml", "application/xml", "text/xml")},
    }
}


@router.post("/admin/sources:import", response_model=JSONObject, openapi_extra=OPML_BODY)
async def import_opml(
    request: Request,
    gw: GatewayDep,
    language: Annotated[str, Query(pattern=r"^[a-z]{2}$", description="For outlines without a language.")] = "en",
    dry_run: bool = False,
) -> Any:
    """Creates a feed source for each new subscription of an OPML file; reports every entry."""
    entries = opml.read(await request.body())
    return await import_entries(backends=gw.backends, entries=entries, language=language, dry_run=dry_run)


@router.get(
    "/admin/sources:export",
    response_class=Response,
    responses={200: {"content": {"text/x-opml": {"schema": {"type": "string"}}}}},
)
async def export_opml(gw: GatewayDep) -> Response:
    """Every feed source as OPML 2.0."""
    return Response(
        await export(backends=gw.backends),
        media_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="newsflow-sources.opml"'},
    )
