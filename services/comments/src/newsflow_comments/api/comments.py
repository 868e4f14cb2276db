"""One comment: edit or delete it with its edit token, vote on it."""

from fastapi import APIRouter, Response

from newsflow_comments import posting
from newsflow_comments.api import CommentId
from newsflow_comments.deps import ClientDep, ContextDep, EditToken
from newsflow_comments.schemas import CommentRead, CommentUpdate, VoteCreate, VoteRead
from newsflow_comments.views import comment_read

router = APIRouter(tags=["comments"])


@router.patch("/comments/{comment_id}")
async def edit_comment(
    comment_id: CommentId, body: CommentUpdate, ctx: ContextDep, token: EditToken = None
) -> CommentRead:
    """Replaces the text (within the edit window; header X-Edit-Token)."""
    return comment_read(await posting.edit(ctx, comment_id=comment_id, token=token, body=body.body))


@router.delete("/comments/{comment_id}", status_code=204, response_class=Response)
async def delete_comment(comment_id: CommentId, ctx: ContextDep, token: EditToken = None) -> Response:
    """Removes the comment (any time; header X-Edit-Token)."""
    await posting.delete(ctx, comment_id=comment_id, token=token)
    return Response(status_code=204)


@router.post("/comments/{comment_id}/votes")
async def vote(comment_id: CommentId, body: VoteCreate, ctx: ContextDep, client: ClientDep) -> VoteRead:
    """Votes +1 or -1; one vote per reader, and voting again replaces it."""
    value, score = await posting.vote(ctx, comment_id=comment_id, value=body.value, client=client)
    return VoteRead(comment_id=comment_id, value=value, score=score)
