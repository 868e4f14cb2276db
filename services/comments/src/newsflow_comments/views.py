"""Stored comments → API models, through ``StoredComment.data`` (secrets such as token hashes stay behind)."""

from newsflow_comments.records import StoredComment
from newsflow_comments.schemas import CommentRead, HeldComment
from newsflow_contracts import CommentStatus


def comment_read(comment: StoredComment, replies: list[CommentRead] | None = None) -> CommentRead:
    data = comment.data().model_dump(exclude={"version"})
    return CommentRead(**data, edited_at=comment.edited_at, replies=replies or [])


def held_comment(comment: StoredComment) -> HeldComment:
    return HeldComment(
        **comment_read(comment).model_dump(exclude={"replies"}),
        author_fingerprint=comment.fingerprint,
        hold_reasons=list(comment.hold_reasons),
    )


def tree(roots: list[StoredComment], replies: list[StoredComment]) -> list[CommentRead]:
    """Nests ``replies`` (sorted oldest first) under their parents among ``roots``, keeping what is
    shown: a visible comment, or a removed one with a shown reply (a placeholder). Held and rejected
    comments never come here (the queries ask for visible and removed ones only)."""
    children: dict[str | None, list[StoredComment]] = {}
    for reply in replies:
        children.setdefault(reply.parent_id, []).append(reply)

    def build(comment: StoredComment) -> CommentRead | None:
        shown = [c for c in (build(child) for child in children.get(comment.id, [])) if c is not None]
        if comment.status != CommentStatus.VISIBLE and not shown:
            return None
        return comment_read(comment, shown)

    return [c for c in (build(root) for root in roots) if c is not None]
