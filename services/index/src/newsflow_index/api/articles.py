"""Article listings: the newest ones, and the ones related to an article."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from newsflow_index import service
from newsflow_index.api.deps import Cursor, FiltersDep, IndexDep, Size
from newsflow_index.schemas import LatestPage, RelatedPage

router = APIRouter(tags=["articles"])


@router.get("/latest")
async def latest(index: IndexDep, filters: FiltersDep, size: Size = 20, cursor: Cursor = None) -> LatestPage:
    """Newest published articles, optionally filtered."""
    return await service.latest(index, filters=filters, size=size, page=cursor)


@router.get("/articles/{article_id}/related")
async def related(
    index: IndexDep,
    article_id: Annotated[str, Path(min_length=1, max_length=200)],
    size: Annotated[int, Query(ge=1, le=20)] = 5,
) -> RelatedPage:
    """Articles like this one (title and body), preferring recent ones from other sources."""
    return await service.related(index, article_id=article_id, size=size)
