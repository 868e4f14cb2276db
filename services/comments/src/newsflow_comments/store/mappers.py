"""One mapper pair per stored shape: ``x_of(doc)`` reads a document, ``x_doc(x)`` writes one.

Field names and their order are those the documents always had, so stored data reads as before.
"""

import dataclasses
from datetime import datetime
from typing import Any, cast

from newsflow_comments.policy import Policy
from newsflow_comments.records import ArticleRef, Change, Mark, MarkKind, QueuedEvent, Revision, StoredComment, Vote
from newsflow_contracts import ArticleStatus, CommentData, CommentStatus, EventType

Doc = dict[str, Any]
TICK_S = 1  # the width of a ``tick``: a worker's pass reads the last few and two older (checkpoint.py)


def tick_of(at: datetime) -> int:
    """The ``tick`` of a record written at ``at``: its second since the epoch."""
    return int(at.timestamp() // TICK_S)


def _present(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if v is not None}


def event_of(doc: Doc) -> QueuedEvent:
    return QueuedEvent(
        event_id=doc["event_id"],
        event_type=EventType(doc["event_type"]),
        version=int(doc["version"]),
        occurred_at=doc["occurred_at"],
        trace=doc.get("trace"),
        data=CommentData.model_validate(doc["data"]),
    )


def event_doc(event: QueuedEvent) -> Doc:
    return {
        "event_id": event.event_id,
        "event_type": event.event_type.value,
        "version": event.version,
        "occurred_at": event.occurred_at,
        "trace": event.trace,
        "data": event.data.model_dump(mode="json"),
    }


def comment_of(doc: Doc) -> StoredComment:
    """The one mapping of a stored comment document (its queued ``posted`` event is read by the relay only)."""
    return StoredComment(
        id=doc["_id"],
        article_id=doc["article_id"],
        parent_id=doc.get("parent_id"),
        root_id=doc.get("root_id") or doc["_id"],
        depth=doc["depth"],
        author_name=doc["author_name"],
        body=doc["body"],
        status=CommentStatus(doc["status"]),
        version=int(doc["version"]),
        score=int(doc.get("score", 0)),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        token_hash=doc["token_hash"],
        fingerprint=doc["fingerprint"],
        address=doc.get("address", ""),
        hold_reasons=tuple(doc.get("hold_reasons") or ()),
        edited_at=doc.get("edited_at"),
    )


def comment_doc(comment: StoredComment, posted: QueuedEvent) -> Doc:
    """A new comment's document, with its comment.posted event (``tick`` from ``created_at``)."""
    return {
        "_id": comment.id,
        "article_id": comment.article_id,
        "parent_id": comment.parent_id,
        "root_id": comment.root_id,
        "depth": comment.depth,
        "author_name": comment.author_name,
        "body": comment.body,
        "status": comment.status.value,
        "version": comment.version,
        "score": comment.score,
        "created_at": comment.created_at,
        "tick": tick_of(comment.created_at),
        "updated_at": comment.updated_at,
        **({"edited_at": comment.edited_at} if comment.edited_at is not None else {}),
        "hold_reasons": list(comment.hold_reasons),
        "token_hash": comment.token_hash,
        "fingerprint": comment.fingerprint,
        "address": comment.address,
        "posted": event_doc(posted),
    }


def change_of(doc: Doc) -> Change:
    status, reasons = doc.get("status"), doc.get("hold_reasons")
    return Change(
        status=CommentStatus(status) if status is not None else None,
        body=doc.get("body"),
        author_name=doc.get("author_name"),
        edited_at=doc.get("edited_at"),
        hold_reasons=tuple(reasons) if reasons is not None else None,
        score=doc.get("score"),
        updated_at=doc.get("updated_at"),
    )


def change_doc(change: Change) -> Doc:
    """The fields to ``$set``, in the order a change always listed them."""
    return _present(
        {
            "status": change.status.value if change.status is not None else None,
            "body": change.body,
            "author_name": change.author_name,
            "edited_at": change.edited_at,
            "hold_reasons": list(change.hold_reasons) if change.hold_reasons is not None else None,
            "score": change.score,
            "updated_at": change.updated_at,
        }
    )


def revision_of(doc: Doc) -> Revision:
    return Revision(
        comment_id=doc["comment_id"],
        version=int(doc["version"]),
        at=doc["at"],
        change=change_of(doc.get("set") or {}),
        event=event_of(doc["event"]) if doc.get("event") else None,
        article_id=doc.get("article_id"),
    )


def revision_doc(revision: Revision) -> Doc:
    return {
        "_id": revision.id,
        "comment_id": revision.comment_id,
        **({"article_id": revision.article_id} if revision.article_id is not None else {}),
        "version": revision.version,
        "at": revision.at,
        "tick": tick_of(revision.at),
        "set": change_doc(revision.change),
        "event": event_doc(revision.event) if revision.event is not None else None,
    }


def vote_doc(vote: Vote) -> Doc:
    return {"_id": vote.id, "comment_id": vote.comment_id, "value": vote.value, "at": vote.at, "tick": tick_of(vote.at)}


def mark_of(doc: Doc) -> Mark:
    return Mark(
        id=doc["_id"],
        kind=cast(MarkKind, doc.get("kind")),
        at=doc["at"],
        fp=doc.get("fp"),
        addr=doc.get("addr"),
        comment_id=doc.get("comment_id"),
        expires_at=doc.get("expires_at"),
    )


def mark_doc(mark: Mark) -> Doc:
    """Every field the mark has (its ``id`` is the ``_id``); absent ones are left out."""
    return _present({"_id" if f.name == "id" else f.name: getattr(mark, f.name) for f in dataclasses.fields(mark)})


def article_ref_doc(ref: ArticleRef) -> Doc:
    return {"_id": ref.id, "status": ref.status.value, "version": ref.version}


def article_ref_of(doc: Doc) -> ArticleRef:
    return ArticleRef(
        id=doc["_id"], status=ArticleStatus(doc.get("status", ArticleStatus.PUBLISHED)), version=doc.get("version", 0)
    )


def policy_of(doc: Doc) -> Policy:
    return Policy.model_validate({k: v for k, v in doc.items() if k != "_id"})


def policy_doc(policy: Policy) -> Doc:
    return {"_id": "policy", **policy.model_dump()}
