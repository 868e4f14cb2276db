"""What a write does to an article, decided from its latest version: pure, no I/O."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from newsflow_contracts import ArticleStatus, EventType
from newsflow_ingest.records import ArticleFields, ArticleVersion
from newsflow_kit.errors import Conflict, Forbidden


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

    new: ArticleVersion | None
    event: EventType | None


def owner_of(latest: ArticleVersion) -> str:
    return latest.owner_id or latest.source_id


def check_owner(latest: ArticleVersion, source_id: str | None, action: str) -> None:
    if source_id is not None and owner_of(latest) != source_id:
        raise NotTheOwner(f"article {latest.article_id} belongs to another source; it cannot {action} it")


def push(latest: ArticleVersion | None, fields: ArticleFields) -> Decision:
    """A pushed article: version 1, a new version when its content changed, or nothing.

    Raises :class:`OwnedByAnotherSource` (another source first published the id) and
    :class:`ArticleRetracted` (retracted: only an explicit restore brings it back).
    """
    now = datetime.now(UTC)
    published = ArticleStatus.PUBLISHED
    if latest is None:
        event = EventType.ARTICLE_PUBLISHED
        new = ArticleVersion.of(
            fields, owner_id=fields.source_id, version=1, status=published, event_type=event, changed_at=now
        )
        return Decision(new, event)
    if owner_of(latest) != fields.source_id:
        raise OwnedByAnotherSource(f"article {latest.article_id} ({fields.url}) was first published by another source")
    if latest.status is ArticleStatus.RETRACTED:
        raise ArticleRetracted(
            f"article {latest.article_id} was retracted; restore it explicitly before pushing it again"
        )
    if latest.content_hash == fields.content_hash:
        return Decision(None, None)
    event = EventType.ARTICLE_UPDATED
    new = ArticleVersion.of(
        replace(fields, published_at=latest.published_at),
        owner_id=owner_of(latest),
        version=latest.version + 1,
        status=published,
        event_type=event,
        changed_at=now,
    )
    return Decision(new, event)


def retract(latest: ArticleVersion) -> Decision:
    """The retraction as a new version with the same content; nothing when already retracted."""
    if latest.status is ArticleStatus.RETRACTED:
        return Decision(None, None)
    return Decision(_next(latest, ArticleStatus.RETRACTED, EventType.ARTICLE_RETRACTED), EventType.ARTICLE_RETRACTED)


def restore(latest: ArticleVersion) -> Decision:
    """A retracted article published again (same content, next version); nothing when it is not retracted."""
    if latest.status is not ArticleStatus.RETRACTED:
        return Decision(None, None)
    return Decision(_next(latest, ArticleStatus.PUBLISHED, EventType.ARTICLE_UPDATED), EventType.ARTICLE_UPDATED)


def _next(latest: ArticleVersion, status: ArticleStatus, event: EventType) -> ArticleVersion:
    """The next version of ``latest`` with the same content: a new pending change, not yet stored."""
    now = datetime.now(UTC)
    return replace(
        latest,
        owner_id=owner_of(latest),
        version=latest.version + 1,
        status=status,
        updated_at=now,
        bus="pending",
        event_type=event,
        changed_at=now,
        seq=None,
    )
