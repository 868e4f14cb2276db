"""Stories: articles about one event from several sources, grouped by the embedder (docs/ai.md)."""

from typing import Annotated

from fastapi import APIRouter, Path, Query

from newsflow_index import story_reads
from newsflow_index.api.deps import Cursor, IndexDep, Size
from newsflow_index.schemas import ArticleStory, StoriesPage, StoryDetail, StoryUpdates

router = APIRouter(tags=["stories"])
StoryId = Annotated[str, Path(min_length=1, max_length=210)]


@router.get("/stories")
async def stories(
    index: IndexDep,
    size: Size = 20,
    cursor: Cursor = None,
    min_size: Annotated[int, Query(ge=1, le=1000, description="Only stories with at least this many articles.")] = 2,
) -> StoriesPage:
    """Recent stories, the most recently published-into first."""
    return await story_reads.recent(index, size=size, min_size=min_size, page=cursor)


@router.get("/stories/updates")
async def story_updates(
    index: IndexDep,
    after: Annotated[str | None, Query(max_length=40, description="next_after of the previous answer.")] = None,
) -> StoryUpdates:
    """Stories written after ``after``, oldest change first (feeds the gateway's story.updated events)."""
    return await story_reads.updates(index, after=after)


@router.get("/stories/{story_id}")
async def story(index: IndexDep, story_id: StoryId) -> StoryDetail:
    """One story and its articles (a merged id answers the story it was merged into)."""
    return await story_reads.story(index, story_id=story_id)


@router.get("/articles/{article_id}/story")
async def article_story(
    index: IndexDep, article_id: Annotated[str, Path(min_length=1, max_length=200)]
) -> ArticleStory:
    """The story an article belongs to (``story: null`` until it is clustered)."""
    return await story_reads.of_article(index, article_id=article_id)
