"""Publisher push, retraction and article reads."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from newsflow_contracts import ArticleData
from newsflow_ingest.deps import StateDep
from newsflow_ingest.schemas import (
    ArticleBatch,
    ArticleCreate,
    ArticlesPage,
    ArticleWrite,
    BatchResult,
    ChangeHead,
    WriteStatus,
)
from newsflow_ingest.service import push_batch, push_source
from newsflow_kit.errors import InvalidInput, NotFound

router = APIRouter(prefix="/articles", tags=["articles"])


@router.post("", response_model=ArticleWrite, responses={201: {"model": ArticleWrite}})
async def create_article(article: ArticleCreate, state: StateDep, response: Response) -> ArticleWrite:
    """Push one article; the same article twice is one article, a changed one a new version."""
    source = await push_source(state.sources, article.source_id)
    result = await state.ingestor.ingest(article, source=source)
    response.status_code = status.HTTP_201_CREATED if result.status is WriteStatus.CREATED else status.HTTP_200_OK
    return result


@router.post(":batch", response_model=BatchResult)
async def create_articles(batch: ArticleBatch, state: StateDep) -> BatchResult:
    """Push up to 500 articles; each item succeeds or fails on its own (errors as problem details)."""
    return await push_batch(state.ingestor, state.sources, batch)


SourceQuery = Annotated[
    str | None, Query(max_length=64, description="The acting source: only the article's owner may change it")
]


@router.delete("/{article_id}", response_model=ArticleWrite)
async def retract_article(article_id: str, state: StateDep, source_id: SourceQuery = None) -> ArticleWrite:
    """Retract an article: it disappears from search and streams announce the retraction."""
    return await state.ingestor.retract(article_id, source_id=source_id)


@router.post("/{article_id}:restore", response_model=ArticleWrite)
async def restore_article(article_id: str, state: StateDep, source_id: SourceQuery = None) -> ArticleWrite:
    """Publish a retracted article again (a new version with its last content); pushes are accepted again."""
    return await state.ingestor.restore(article_id, source_id=source_id)


@router.get("/{article_id}", response_model=ArticleData)
async def read_article(article_id: str, state: StateDep) -> ArticleData:
    """The latest version of one article."""
    latest = await state.articles.latest(article_id)
    if latest is None:
        raise NotFound(f"article {article_id} not found")
    return latest.data()


@router.get("", response_model=ArticlesPage)
async def list_articles(
    state: StateDep,
    since: Annotated[str | None, Query(max_length=20, description="seq of the last change seen")] = None,
    source: Annotated[str | None, Query(max_length=64)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    lang: Annotated[str | None, Query(pattern=r"^[a-z]{2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ArticlesPage:
    """Changes after a cursor in ``seq`` order, never past a change still being written (gap-free)."""
    if since is not None and not since.isdigit():
        raise InvalidInput(
            "since must be a change sequence number", errors=[{"field": "query.since", "message": "not a number"}]
        )
    page = await state.articles.since(int(since or 0), source=source, tag=tag, lang=lang, limit=limit)
    return ArticlesPage(
        items=[v.data() for v in page.items],
        cursor=str(page.position),
        next_cursor=str(page.position) if page.more else None,
    )


@router.get("/changes/head", response_model=ChangeHead, tags=["articles"])
async def change_head(state: StateDep) -> ChangeHead:
    """The last committed position of the change log (where a reader that wants only new changes starts)."""
    return ChangeHead(seq=await state.articles.head())
