"""Article documents as events: the envelope, with an id that is the same for every re-send."""

import uuid
from typing import Any

from newsflow_contracts import ArticleData, Envelope, EventType, new_event

_NAMESPACE = uuid.UUID("6f1c2a4e-9b1d-4c59-8a53-2f0f6f3e7a10")
ARTICLE_FIELDS = set(ArticleData.model_fields)


def article_data(doc: dict[str, Any]) -> ArticleData:
    """The article of a stored version (``article_id``; ``_id`` is the version's ``seq``)."""
    return ArticleData.model_validate(
        {**{k: v for k, v in doc.items() if k in ARTICLE_FIELDS}, "id": doc["article_id"]}
    )


def envelope(doc: dict[str, Any], *, producer: str, trace: str | None = None) -> Envelope[ArticleData]:
    """The event of the document's pending change; re-sends of one version carry one ``event_id``."""
    event_type = EventType(doc["event_type"])
    event_id = uuid.uuid5(_NAMESPACE, f"{doc['article_id']}:{doc['version']}:{event_type.value}")
    return new_event(
        event_type, article_data(doc), producer=producer, event_id=event_id, occurred_at=doc["changed_at"], trace=trace
    )
