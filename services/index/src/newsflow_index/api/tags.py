"""Hashtags."""

from typing import Annotated

from fastapi import APIRouter, Query

from newsflow_index import service
from newsflow_index.api.deps import IndexDep
from newsflow_index.schemas import TrendingPage

router = APIRouter(tags=["tags"])


@router.get("/tags/trending")
async def trending(
    index: IndexDep,
    window: Annotated[str, Query(max_length=8, description="Like 6h, 24h, 7d (at most 30d).")] = "24h",
    size: Annotated[int, Query(ge=1, le=50)] = 10,
) -> TrendingPage:
    """Hashtags rising in the window compared with the window before it."""
    return await service.trending(index, window=window, size=size)
