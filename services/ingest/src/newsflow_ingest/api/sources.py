"""Sources: CRUD, pause/resume and fetch status (the gateway exposes these to admins)."""

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Response, status

from newsflow_ingest.deps import StateDep
from newsflow_ingest.repository import NameTaken
from newsflow_ingest.schemas import SourceCreate, SourceKind, SourceRead, SourcesPage, SourceStatus, SourceUpdate
from newsflow_kit.errors import Conflict, InvalidInput, NotFound

router = APIRouter(prefix="/sources", tags=["sources"])


def _read(doc: dict[str, Any]) -> SourceRead:
    return SourceRead.model_validate({**doc, "id": doc["_id"]})


async def _get(state: StateDep, source_id: str) -> dict[str, Any]:
    doc = await state.sources.get(source_id)
    if doc is None:
        raise NotFound(f"source {source_id} not found")
    return doc


def _check(kind: SourceKind, feed_url: object, min_s: int, max_s: int) -> None:
    if kind is SourceKind.FEED and not feed_url:
        raise InvalidInput("a feed source needs feed_url", errors=[{"field": "body.feed_url", "message": "required"}])
    if min_s > max_s:
        raise InvalidInput(
            "min_interval_s is above max_interval_s",
            errors=[{"field": "body.min_interval_s", "message": "above max_interval_s"}],
        )


@router.post("", response_model=SourceRead, status_code=status.HTTP_201_CREATED)
async def create_source(body: SourceCreate, state: StateDep) -> SourceRead:
    """Register a feed or push source (names are unique)."""
    _check(body.kind, body.feed_url, body.min_interval_s, body.max_interval_s)
    now = datetime.now(UTC)
    doc = {
        "_id": uuid.uuid4().hex[:16],
        **body.model_dump(mode="json"),
        "paused": False,
        "created_at": now,
        "next_poll_at": now if body.kind is SourceKind.FEED else None,
        "interval_s": body.min_interval_s,
        "lease_until": now,
        "error_count": 0,
        "consecutive_errors": 0,
        "articles_seen": 0,
        "items_skipped": 0,
    }
    try:
        await state.sources.create(doc)
    except NameTaken as exc:
        raise Conflict(f"a source named {exc.name!r} exists") from None
    return _read(doc)


@router.get("", response_model=SourcesPage)
async def list_sources(state: StateDep) -> SourcesPage:
    """Every source."""
    return SourcesPage(items=[_read(d) for d in await state.sources.all()])


@router.get("/{source_id}", response_model=SourceRead)
async def read_source(source_id: str, state: StateDep) -> SourceRead:
    """One source."""
    return _read(await _get(state, source_id))


@router.patch("/{source_id}", response_model=SourceRead)
async def update_source(source_id: str, body: SourceUpdate, state: StateDep) -> SourceRead:
    """Change a source's settings."""
    current = await _get(state, source_id)
    changes = body.model_dump(mode="json", exclude_unset=True)
    merged = {**current, **changes}
    _check(SourceKind(merged["kind"]), merged.get("feed_url"), merged["min_interval_s"], merged["max_interval_s"])
    try:
        doc = await state.sources.update(source_id, changes) if changes else current
    except NameTaken as exc:
        raise Conflict(f"a source named {exc.name!r} exists") from None
    return _read(doc or current)


@router.delete("/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_source(source_id: str, state: StateDep) -> Response:
    """Remove a source (its articles stay)."""
    if not await state.sources.delete(source_id):
        raise NotFound(f"source {source_id} not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{source_id}:pause", response_model=SourceRead)
async def pause_source(source_id: str, state: StateDep) -> SourceRead:
    """Stop polling a source."""
    await _get(state, source_id)
    return _read(await state.sources.update(source_id, {"paused": True}) or {})


@router.post("/{source_id}:resume", response_model=SourceRead)
async def resume_source(source_id: str, state: StateDep) -> SourceRead:
    """Poll a source again, now."""
    await _get(state, source_id)
    doc = await state.sources.update(source_id, {"paused": False, "next_poll_at": datetime.now(UTC)})
    return _read(doc or {})


@router.get("/{source_id}/status", response_model=SourceStatus)
async def source_status(source_id: str, state: StateDep) -> SourceStatus:
    """Last fetch, last HTTP status, last error, error count, next poll, articles seen."""
    doc = await _get(state, source_id)
    return SourceStatus(
        id=doc["_id"],
        state="paused" if doc.get("paused") else "active",
        last_fetch_at=doc.get("last_fetch_at"),
        last_status=doc.get("last_status"),
        last_error=doc.get("last_error"),
        error_kind=doc.get("last_error_kind"),
        problems=doc.get("last_problems") or [],
        error_count=doc.get("error_count", 0),
        next_poll_at=doc.get("next_poll_at"),
        articles_seen=doc.get("articles_seen", 0),
        items_skipped=doc.get("items_skipped", 0),
    )
