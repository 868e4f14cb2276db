import asyncio
import contextlib
import uuid
from pathlib import Path

import pytest
from confluent_kafka import KafkaException

from newsflow_contracts import ArticleData, Envelope, EventType, new_event
from newsflow_kit.kafka import AsyncPublisher
from newsflow_kit.settings import KafkaSettings
from newsflow_kit.testing import article_data, eventually, read_topic


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


def _kafka_threads() -> int:
    """librdkafka's own threads in this process (it names them ``rdk:...``)."""
    count = 0
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            count += (task / "comm").read_text().startswith("rdk:")
    return count


async def test_close_gives_up_on_an_unreachable_broker_and_stops_the_client(kafka_topics: KafkaSettings) -> None:
    """What is undelivered at the end of the flush fails its sender, and the client's threads end: a
    closed publisher used to go on dialling a broker that was gone for as long as the process lived."""
    before = _kafka_threads()
    publisher = AsyncPublisher(kafka_topics.model_copy(update={"bootstrap_servers": "127.0.0.1:9"}), client_id="gone")
    event = new_event(EventType.ARTICLE_PUBLISHED, article_data("a2"), producer="test", event_id=uuid.uuid4())
    sending = asyncio.create_task(publisher.publish(kafka_topics.articles_topic, "a2", event))
    await asyncio.sleep(0.2)
    assert _kafka_threads() > before
    await publisher.close(timeout=0.5)
    with pytest.raises(KafkaException):
        await asyncio.wait_for(sending, 5)
    eventually(lambda: _kafka_threads() == before, timeout=10)
