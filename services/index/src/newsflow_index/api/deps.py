"""Typed dependencies shared by the routers."""

from typing import Annotated

from fastapi import Depends, Query, Request

from newsflow_contracts import CURSOR_MAX_CHARS, PAGE_SIZE_MAX
from newsflow_index.filters import Filters, build_filters
from newsflow_index.service import SearchIndex


async def _index(request: Request) -> SearchIndex:
    index: SearchIndex = request.app.state.index
    return index


async def _filters(
    source: Annotated[list[str], Query(description="Source id; repeat for any of several.")] = [],  # noqa: B006
    tag: Annotated[list[str], Query(description="Hashtag slug; repeat for any of several.")] = [],  # noqa: B006
    lang: Annotated[list[str], Query(description="ISO 639-1 language; repeat for any of several.")] = [],  # noqa: B006
    date_from: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD or ISO 8601, inclusive.")] = None,
    date_to: Annotated[str | None, Query(alias="to", description="YYYY-MM-DD (whole day) or ISO 8601.")] = None,
) -> Filters:
    return build_filters(sources=source, tags=tag, languages=lang, date_from=date_from, date_to=date_to)


IndexDep = Annotated[SearchIndex, Depends(_index)]
FiltersDep = Annotated[Filters, Depends(_filters)]
Size = Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX, description=f"Items per page (at most {PAGE_SIZE_MAX}).")]
Cursor = Annotated[str | None, Query(max_length=CURSOR_MAX_CHARS, description="next_cursor of the previous page.")]
