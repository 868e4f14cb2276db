"""What a write does to an article, decided from its latest version: pure, no I/O."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from newsflow_contracts import EventType
from newsflow_kit.errors import Conflict, Forbidden

Doc = dict[str, Any]


class ArticleRetracted(Conflict):
    """A push of a retracted article: retraction stays final until the publisher restores it."""

    code, title = "article-retracted", "Article retracted"


class OwnedByAnotherSource(Conflict):
    """A push of an article (same id: same canonical URL) that another source published first."""

    code, title = "article-owned-by-another-source", "Article belongs to another source"


class NotTheOwner(Forbidden):
    """A retraction or restore by a source that does not own the article."""

    code, title = "not-the-owner", "Article belongs to another source"


@dataclass(frozen=True)
class Decision:
    """The version to store (None: nothing changed) and the event it announces."""

    doc: Doc | None
    event: EventType | None


def owner_of(latest: Doc) -> str:
    return str(latest.get("owner_id") or latest["source_id"])


def check_owner(latest: Doc, source_id: str | None, action: str) -> None:
    if source_id is not None and owner_of(latest) != source_id:
        raise NotTheOwner(f"article {latest['article_id']} belongs to another source; it cannot {action} it")


def push(latest: Doc | None, fields: Doc) -> Decision:
    """A pushed article: version 1, a new version when its content changed, or nothing.

    Raises :class:`OwnedByAnotherSource` (another source first published the id) and
    :class:`ArticleRetracted` (retracted: only an explicit restore brings it back).
    """
    now = datetime.now(UTC)
    if latest is None:
        doc = {**fields, "owner_id": fields["source_id"], "version": 1, "status": "published"}
        return Decision(_pending(doc, EventType.ARTICLE_PUBLISHED, now), EventType.ARTICLE_PUBLISHED)
    if owner_of(latest) != fields["source_id"]:
        raise OwnedByAnotherSource(
            f"article {latest['article_id']} ({fields['url']}) was first published by another source"
        )
    if latest["status"] == "retracted":
        raise ArticleRetracted(
            f"article {latest['article_id']} was retracted; restore it explicitly before pushing it again"
        )
    if latest["content_hash"] == fields["content_hash"]:
        return Decision(None, None)
    doc = {
        **fields,
        "owner_id": owner_of(latest),
        "version": int(latest["version"]) + 1,
        "status": "published",
        "published_at": latest["published_at"],
    }
    return Decision(_pending(doc, EventType.ARTICLE_UPDATED, now), EventType.ARTICLE_UPDATED)


def retract(latest: Doc) -> Decision:
    """The retraction as a new version with the same content; nothing when already retracted."""
    if latest["status"] == "retracted":
        return Decision(None, None)
    now = datetime.now(UTC)
    doc = {**_content(latest), "version": int(latest["version"]) + 1, "status": "retracted", "updated_at": now}
    return Decision(_pending(doc, EventType.ARTICLE_RETRACTED, now), EventType.ARTICLE_RETRACTED)


def restore(latest: Doc) -> Decision:
    """A retracted article published again (same content, next version); nothing when it is not retracted."""
    if latest["status"] != "retracted":
        return Decision(None, None)
    now = datetime.now(UTC)
    doc = {**_content(latest), "version": int(latest["version"]) + 1, "status": "published", "updated_at": now}
    return Decision(_pending(doc, EventType.ARTICLE_UPDATED, now), EventType.ARTICLE_UPDATED)


def _content(latest: Doc) -> Doc:
    """A version's fields without its position and outbox state."""
    return {k: v for k, v in latest.items() if k not in {"_id", "seq", "bucket", "bus", "event_type", "changed_at"}}


def _pending(doc: Doc, event: EventType, now: datetime) -> Doc:
    return {**doc, "bus": "pending", "event_type": event.value, "changed_at": now}
