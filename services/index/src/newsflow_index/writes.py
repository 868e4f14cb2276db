"""From Kafka messages to document writes: decoding, validation, and last-writer-wins per article."""

from dataclasses import dataclass
from typing import Any

from confluent_kafka import Message
from pydantic import ValidationError

from newsflow_contracts import ArticleData, ArticleStatus, Envelope, EventType
from newsflow_index.mapping import to_document


class Undecodable(Exception):
    """The message can never become a write; ``reason`` goes into the DLQ headers."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(error)
        self.reason = reason


@dataclass(frozen=True)
class Write:
    """One article version to store (a tombstone when ``retracted``)."""

    id: str
    version: int
    retracted: bool
    document: dict[str, Any]

    @property
    def rank(self) -> tuple[int, bool]:
        """Order between writes of one article: the higher version wins; a retraction wins a tie."""
        return self.version, self.retracted


def decode(msg: Message) -> Write:
    """The write a message asks for; raises :class:`Undecodable` for anything else."""
    value = msg.value()
    if not value:
        raise Undecodable("empty", "message has no value")
    try:
        event = Envelope[ArticleData].model_validate_json(value)
    except ValidationError as exc:
        reason = "undecodable" if any(e["type"] == "json_invalid" for e in exc.errors()) else "schema-invalid"
        raise Undecodable(reason, str(exc)) from exc
    if event.event_type not in _ARTICLE_EVENTS:
        raise Undecodable("schema-invalid", f"unexpected event type {event.event_type.value}")
    article = event.data
    retracted = event.event_type is EventType.ARTICLE_RETRACTED or article.status is ArticleStatus.RETRACTED
    return Write(article.id, article.version, retracted, to_document(article, retracted=retracted))


def latest_per_article(writes: list[tuple[Message, Write]]) -> list[tuple[Message, Write]]:
    """Keeps the winning write of each article in a batch (the others would only conflict)."""
    winners: dict[str, tuple[Message, Write]] = {}
    for msg, write in writes:
        held = winners.get(write.id)
        if held is None or write.rank >= held[1].rank:
            winners[write.id] = (msg, write)
    return list(winners.values())


_ARTICLE_EVENTS = {EventType.ARTICLE_PUBLISHED, EventType.ARTICLE_UPDATED, EventType.ARTICLE_RETRACTED}
