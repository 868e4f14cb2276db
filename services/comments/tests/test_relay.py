"""The relay asks the store whether an event went out only when it cannot know (docs/comments.md,
"Events"): it remembers what it published, and an event written after it started is one nobody else
published. Checked with pymongo's command monitoring on the real store and a real Kafka topic."""

import asyncio
import json
from typing import Any

from pymongo import AsyncMongoClient, monitoring

from newsflow_comments.context import utcnow
from newsflow_comments.outbox import Relay
from newsflow_comments.store import Store
from newsflow_kit.kafka import AsyncPublisher
from newsflow_kit.settings import KafkaSettings, MongoSettings
from newsflow_kit.testing import DatabaseCommands, read_topic

from .conftest import Api

LISTENER = DatabaseCommands()
monitoring.register(LISTENER)  # clients built after this report to it


def test_the_relay_looks_up_only_events_written_before_it_started(
    api: Api, kafka_topics: KafkaSettings, mongo_database: MongoSettings
) -> None:
    api.known("a1")
    before = api.posted("a1", "written before the relay started")["comment"]["id"]
    after: list[str] = []

    async def passes() -> list[tuple[int, list[str]]]:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_database.uri, tz_aware=True)
        publisher = AsyncPublisher(kafka_topics, client_id="test-relay")
        relay = Relay(
            Store(client, mongo_database.database),
            publisher,
            topic=kafka_topics.comments_topic,
            grace_s=10,
            margin_s=30,
            now=utcnow,
        )
        seen: list[tuple[int, list[str]]] = []
        try:
            for step in range(3):
                if step == 1:  # a comment written after the relay started
                    after.append(api.posted("a1", "written after", ip="10.0.0.2")["comment"]["id"])
                LISTENER.database, LISTENER.names = mongo_database.database, []
                sent = await relay.run_once()
                seen.append((sent, [n for n in LISTENER.names if n.endswith(" published")]))
        finally:
            LISTENER.database = None
            await publisher.close()
            await client.close()
        return seen

    first, second, third = asyncio.run(passes())
    assert first == (1, ["find published", "insert published"])  # written before: looked up, then marked
    assert second == (1, ["insert published"])  # written after: not looked up
    assert third == (0, [])  # both remembered: nothing looked up, nothing sent again
    messages = read_topic(kafka_topics, kafka_topics.comments_topic, until=lambda got: len(got) >= 2)
    assert [json.loads(m.value() or b"")["data"]["id"] for m in messages] == [before, *after]
