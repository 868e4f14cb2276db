"""What moderators do: work the queue of held comments, approve, reject, remove, ban authors."""

from datetime import datetime

from newsflow_comments import changes, reading
from newsflow_comments.context import Context
from newsflow_comments.posting import removal
from newsflow_comments.records import Change, StoredComment
from newsflow_contracts import CommentStatus, EventType
from newsflow_kit.errors import Conflict, InvalidInput


async def queue(ctx: Context, *, cursor: str | None, limit: int) -> tuple[list[StoredComment], str | None]:
    """Held comments, oldest first."""
    return await reading.paged("queue", "queue", cursor, limit, ctx.store.held)


async def approve(ctx: Context, comment_id: str) -> StoredComment:
    """Publishes a held (or rejected) comment; its author counts as known from now on."""

    def decide(comment: StoredComment) -> changes.Decision:
        if comment.status == CommentStatus.VISIBLE:
            return None
        if comment.status == CommentStatus.REMOVED:
            raise Conflict(f"comment {comment_id} was removed")
        return Change(status=CommentStatus.VISIBLE, hold_reasons=()), EventType.COMMENT_MODERATED

    approved = await changes.update(ctx, comment_id, decide)
    await ctx.store.mark_known(approved.fingerprint, ctx.now())
    return approved


async def reject(ctx: Context, comment_id: str) -> StoredComment:
    """Refuses a held comment (a published one is taken down with remove)."""

    def decide(comment: StoredComment) -> changes.Decision:
        if comment.status == CommentStatus.REJECTED:
            return None
        if comment.status != CommentStatus.PENDING:
            raise Conflict(f"comment {comment_id} is {comment.status}, not pending")
        return Change(status=CommentStatus.REJECTED), EventType.COMMENT_MODERATED

    return await changes.update(ctx, comment_id, decide)


async def remove(ctx: Context, comment_id: str) -> StoredComment:
    """Takes a comment down; like an author's delete, a placeholder stays while it has replies."""
    return await changes.update(ctx, comment_id, removal)


async def ban(ctx: Context, *, fingerprint: str | None, comment_id: str | None) -> tuple[str, datetime]:
    """Bans an author fingerprint (given, or the author of ``comment_id``) from posting and voting."""
    if comment_id is not None:
        fingerprint = (await changes.load(ctx, comment_id)).fingerprint
    if fingerprint is None:
        raise InvalidInput("give a fingerprint or a comment_id")
    return fingerprint, await ctx.store.ban(fingerprint, ctx.now())
