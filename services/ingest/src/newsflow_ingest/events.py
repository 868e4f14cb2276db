"""Stored article versions as events: the envelope, with an id that is the same for every re-send."""

import uuid

from newsflow_contracts import ArticleData, Envelope, new_event
from newsflow_ingest.records import ArticleVersion

_NAMESPACE = uuid.UUID("6f1c2a4e-9b1d-4c59-8a53-2f0f6f3e7a10")


def envelope(version: ArticleVersion, *, producer: str, trace: str | None = None) -> Envelope[ArticleData]:
    """The event of the version's pending change; re-sends of one version carry one ``event_id``."""
    event_type = version.event_type
    event_id = uuid.uuid5(_NAMESPACE, f"{version.article_id}:{version.version}:{event_type.value}")
    return new_event(
        event_type, version.data(), producer=producer, event_id=event_id, occurred_at=version.changed_at, trace=trace
    )
