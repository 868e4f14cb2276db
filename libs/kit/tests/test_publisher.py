import uuid

from newsflow_contracts import ArticleData, Envelope, EventType, new_event
from newsflow_kit.kafka import AsyncPublisher
from newsflow_kit.settings import KafkaSettings
from newsflow_kit.testing import article_data, read_topic


async def test_publish_resolves_after_the_broker_acknowledged(kafka_topics: KafkaSettings) -> None:
    article = article_data("a1")
    event = new_event(EventType.ARTICLE_PUBLISHED, article, producer="test", event_id=uuid.uuid4())
    publisher = AsyncPublisher(kafka_topics, client_id="test")
    try:
        msg = await publisher.publish(kafka_topics.articles_topic, "a1", event)
        assert msg.offset() is not None and msg.offset() >= 0
    finally:
        await publisher.close()
    [got] = read_topic(kafka_topics, kafka_topics.articles_topic, until=lambda ms: len(ms) >= 1)
    assert got.key() == b"a1"
    assert dict(got.headers() or [])["event_type"] == b"article.published"
    assert Envelope[ArticleData].model_validate_json(got.value() or b"") == event
