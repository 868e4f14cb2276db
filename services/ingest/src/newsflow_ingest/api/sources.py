"""Sources: CRUD, pause/resume and fetch status (the gateway exposes these to admins)."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from fastapi import APIRouter, Response, status

from newsflow_ingest.deps import StateDep
from newsflow_ingest.records import Source
from newsflow_ingest.schemas import SourceCreate, SourceKind, SourceRead, SourcesPage, SourceStatus, SourceUpdate
from newsflow_ingest.store import NameTaken
from newsflow_kit.errors import Conflict, InvalidInput, NotFound

router = APIRouter(prefix="/sources", tags=["sources"])


def _read(source: Source) -> SourceRead:
    return SourceRead.model_validate(source, from_attributes=True)


def _found(source: Source | None, source_id: str) -> Source:
    if source is None:
        raise NotFound(f"source {source_id} not found")
    return source


async def _get(state: StateDep, source_id: str) -> Source:
    return _found(await state.sources.get(source_id), source_id)


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
    urls = body.model_dump(mode="json", include={"homepage", "feed_url"})
    source = Source(
        id=uuid.uuid4().hex[:16],
        name=body.name,
        kind=body.kind,
        homepage=urls["homepage"],
        feed_url=urls["feed_url"],
        language=body.language,
        min_interval_s=body.min_interval_s,
        max_interval_s=body.max_interval_s,
        fetch_full_text=body.fetch_full_text,
        created_at=now,
        next_poll_at=now if body.kind is SourceKind.FEED else None,
        interval_s=body.min_interval_s,
        lease_until=now,
    )
    try:
        await state.sources.create(source)
    except NameTaken as exc:
        raise Conflict(f"a source named {exc.name!r} exists") from None
    return _read(source)


@router.get("", response_model=SourcesPage)
async def list_sources(state: StateDep) -> SourcesPage:
    """Every source."""
    return SourcesPage(items=[_read(s) for s in await state.sources.all()])


@router.get("/{source_id}", response_model=SourceRead)
async def read_source(source_id: str, state: StateDep) -> SourceRead:
    """One source."""
    return _read(await _get(state, source_id))


@router.patch("/{source_id}", response_model=SourceRead)
async def update_source(source_id: str, body: SourceUpdate, state: StateDep) -> SourceRead:
    """Change a source's settings."""
    current = await _get(state, source_id)
    merged = replace(current, **body.model_dump(mode="json", exclude_unset=True))
    _check(merged.kind, merged.feed_url, merged.min_interval_s, merged.max_interval_s)
    try:
        source = await state.sources.update(source_id, body) if body.model_fields_set else current
    except NameTaken as exc:
        raise Conflict(f"a source named {exc.name!r} exists") from None
    return _read(source or current)


@router.delete("/{source_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_source(source_id: str, state: StateDep) -> Response:
    """Remove a source (its articles stay)."""
    if not await state.sources.delete(source_id):
        raise NotFound(f"source {source_id} not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{source_id}:pause", response_model=SourceRead)
async def pause_source(source_id: str, state: StateDep) -> SourceRead:
    """Stop polling a source."""
    return _read(_found(await state.sources.pause(source_id), source_id))


@router.post("/{source_id}:resume", response_model=SourceRead)
async def resume_source(source_id: str, state: StateDep) -> SourceRead:
    """Poll a source again, now."""
    return _read(_found(await state.sources.resume(source_id, datetime.now(UTC)), source_id))


STATUS_AS_STORED = (  # the status fields a source holds under the same names
    "id",
    "last_fetch_at",
    "last_status",
    "last_error",
    "error_count",
    "next_poll_at",
    "articles_seen",
    "items_skipped",
)


@router.get("/{source_id}/status", response_model=SourceStatus)
async def source_status(source_id: str, state: StateDep) -> SourceStatus:
    """Last fetch, last HTTP status, last error, error count, next poll, articles seen."""
    source = await _get(state, source_id)
    return SourceStatus(
        **{name: getattr(source, name) for name in STATUS_AS_STORED},
        state="paused" if source.paused else "active",
        error_kind=source.last_error_kind,
        problems=list(source.last_problems),
    )
