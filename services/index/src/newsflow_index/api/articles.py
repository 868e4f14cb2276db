"""Article listings: the newest ones, and the ones related to an article."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from newsflow_index import service
from newsflow_index.api.deps import Cursor, FiltersDep, IndexDep, Size
from newsflow_index.schemas import ArticleAI, LatestPage, RelatedPage

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
    cross_language: Annotated[bool, Query(description="Rank every language together (default: own first).")] = False,
) -> RelatedPage:
    """Articles like this one: BM25 and vectors fused (``method``), BM25 alone when no vector exists."""
    return await service.related(index, article_id=article_id, size=size, cross_language=cross_language)


@router.get("/articles/{article_id}/ai")
async def article_ai(index: IndexDep, article_id: Annotated[str, Path(min_length=1, max_length=200)]) -> ArticleAI:
    """The article's AI block: extractive summary and key points (``status: pending`` until embedded)."""
    return await service.article_ai(index, article_id=article_id)
