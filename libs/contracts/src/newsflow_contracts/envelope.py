"""The one envelope every Kafka message carries.

Key = the aggregate's id (the article id; for comments the article id too, so a thread stays in
order). Changes within ``v1`` are additive only; a breaking change is a new topic.
"""

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

T = TypeVar("T", bound=BaseModel)


class EventType(StrEnum):
    """Past-tense names of everything that happens."""

    ARTICLE_PUBLISHED = "article.published"
    ARTICLE_UPDATED = "article.updated"
    ARTICLE_RETRACTED = "article.retracted"
    COMMENT_POSTED = "comment.posted"
    COMMENT_EDITED = "comment.edited"
    COMMENT_REMOVED = "comment.removed"
    COMMENT_MODERATED = "comment.moderated"


class Envelope(BaseModel, Generic[T]):
    """Metadata around a payload: who produced what, when, and in which trace."""

    model_config = ConfigDict(frozen=True)

    event_id: uuid.UUID = Field(description="Unique per event; a re-send of the same change keeps it.")
    event_type: EventType
    schema_version: int = SCHEMA_VERSION
    occurred_at: AwareDatetime = Field(description="When the change happened (UTC).")
    producer: str = Field(description="The service and role that produced the event, e.g. ingest.relay.")
    trace: str | None = Field(default=None, description="W3C traceparent of the request that caused it.")
    data: T


def new_event(
    event_type: EventType,
    data: T,
    *,
    producer: str,
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
    trace: str | None = None,
) -> Envelope[T]:
    """Builds an envelope; pass ``event_id`` to make re-sends of one change carry one id."""
    envelope: Envelope[T] = Envelope[type(data)](  # type: ignore[misc,operator]
        event_id=event_id or uuid.uuid4(),
        event_type=event_type,
        occurred_at=occurred_at or datetime.now(UTC),
        producer=producer,
        trace=trace,
        data=data,
    )
    return envelope
