import uuid
from datetime import UTC, datetime

from newsflow_contracts import ArticleData, Envelope, EventType, new_event
from newsflow_contracts.schemas import SCHEMA_DIR, render
from newsflow_kit.testing import article_data


def test_committed_schemas_are_current() -> None:
    for name, text in render().items():
        assert (SCHEMA_DIR / name).read_text() == text, f"{name} is stale: run `make schemas`"


def test_envelope_round_trips_through_json() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    article = article_data("a1", version=2, seq=7, published_at=now)
    event = new_event(EventType.ARTICLE_UPDATED, article, producer="ingest.relay", event_id=uuid.UUID(int=1))
    back = Envelope[ArticleData].model_validate_json(event.model_dump_json())
    assert back == event
    assert back.data.version == 2
    assert back.occurred_at.tzinfo is not None
