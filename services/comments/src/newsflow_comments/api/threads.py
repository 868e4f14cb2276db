"""An article's thread: read it, post to it, count it."""

from fastapi import APIRouter, Response

from newsflow_comments import posting, reading
from newsflow_comments.api import ArticleId, Cursor, Limit
from newsflow_comments.deps import ClientDep, ContextDep, IdempotencyKey
from newsflow_comments.schemas import (
    CommentCreate,
    CommentCreated,
    CommentsPage,
    CountRead,
    Sort,
)
from newsflow_comments.views import comment_read
from newsflow_contracts import CountsPage, CountsRequest

router = APIRouter(tags=["threads"])


@router.get("/articles/{article_id}/comments")
async def get_thread(
    article_id: ArticleId, ctx: ContextDep, sort: Sort = "oldest", cursor: Cursor = None, limit: Limit = 50
) -> CommentsPage:
    """A page of visible top-level comments with their replies."""
    page = await reading.thread(ctx, article_id=article_id, sort=sort, cursor=cursor, limit=limit)
    return CommentsPage(items=page.items, next_cursor=page.next_cursor, closed=page.closed)


@router.post("/articles/{article_id}/comments", status_code=201)
async def post_comment(
    article_id: ArticleId,
    body: CommentCreate,
    ctx: ContextDep,
    client: ClientDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CommentCreated:
    """Posts a comment or a reply; the edit token is in this answer only.

    200 instead of 201: a retry with the same ``Idempotency-Key`` (or, without one, the same text
    within the duplicate window) answers with the comment the first attempt stored. A 503 means the
    comment was not stored, or (store failure during the write) retry with the same key to find out.
    """
    posted = await posting.post(ctx, article_id=article_id, new=body, client=client, idempotency_key=idempotency_key)
    if not posted.created:
        response.status_code = 200
    return CommentCreated(comment=comment_read(posted.comment), edit_token=posted.edit_token)


@router.get("/articles/{article_id}/comments/count")
async def count(article_id: ArticleId, ctx: ContextDep) -> CountRead:
    """How many visible comments the article has."""
    return CountRead(article_id=article_id, count=await reading.count(ctx, article_id))


@router.post("/comments/counts")
async def counts(body: CountsRequest, ctx: ContextDep) -> CountsPage:
    """Visible comment counts of many articles at once."""
    return CountsPage(counts=await reading.counts(ctx, body.article_ids))
