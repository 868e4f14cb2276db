"""Full-text search and title autocomplete."""

from typing import Annotated

from fastapi import APIRouter, Query

from newsflow_contracts import SEARCH_QUERY_MAX_CHARS, SUGGEST_QUERY_MAX_CHARS
from newsflow_index import service
from newsflow_index.api.deps import Cursor, FiltersDep, IndexDep, Size
from newsflow_index.queries import Sort
from newsflow_index.schemas import SearchPage, SuggestPage

router = APIRouter(tags=["search"])


@router.get("/search")
async def search(
    index: IndexDep,
    filters: FiltersDep,
    q: Annotated[
        str, Query(max_length=SEARCH_QUERY_MAX_CHARS, description='Words, "phrases", -exclusions, a | b, prefix*.')
    ] = "",
    sort: Sort = "relevance",
    size: Size = 20,
    cursor: Cursor = None,
) -> SearchPage:
    """Search published articles with filters, highlights, facets and a cursor to the next page."""
    return await service.search(index, q=q.strip(), filters=filters, sort=sort, size=size, page=cursor)


@router.get("/suggest")
async def suggest(
    index: IndexDep,
    q: Annotated[
        str, Query(min_length=1, max_length=SUGGEST_QUERY_MAX_CHARS, description="What the reader has typed so far.")
    ],
    size: Annotated[int, Query(ge=1, le=20)] = 8,
) -> SuggestPage:
    """Title suggestions for a typed prefix (every word may be a prefix)."""
    return await service.suggest(index, q=q, size=size)
