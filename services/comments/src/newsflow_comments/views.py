"""Stored documents → API models, through ``repository.comment_of`` (secrets such as token hashes stay behind)."""

from newsflow_comments.repository import Doc, comment_of
from newsflow_comments.schemas import CommentRead, HeldComment


def comment_read(doc: Doc, replies: list[CommentRead] | None = None) -> CommentRead:
    comment = comment_of(doc).model_dump(exclude={"version"})
    return CommentRead(**comment, edited_at=doc.get("edited_at"), replies=replies or [])


def held_comment(doc: Doc) -> HeldComment:
    return HeldComment(
        **comment_read(doc).model_dump(exclude={"replies"}),
        author_fingerprint=doc["fingerprint"],
        hold_reasons=doc.get("hold_reasons", []),
    )


def tree(roots: list[Doc], replies: list[Doc]) -> list[CommentRead]:
    """Nests ``replies`` (sorted oldest first) under their parents among ``roots``, keeping what is
    shown: a visible comment, or a removed one with a shown reply (a placeholder). Held and rejected
    comments never come here (the queries ask for visible and removed ones only)."""
    children: dict[str, list[Doc]] = {}
    for reply in replies:
        children.setdefault(reply["parent_id"], []).append(reply)

    def build(doc: Doc) -> CommentRead | None:
        shown = [c for c in (build(child) for child in children.get(doc["_id"], [])) if c is not None]
        if doc["status"] != "visible" and not shown:
            return None
        return comment_read(doc, shown)

    return [c for c in (build(root) for root in roots) if c is not None]
