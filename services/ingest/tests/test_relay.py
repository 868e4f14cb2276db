"""The relay closes the dual-write hole: a crash between Kafka's ack and the flip only re-sends."""

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from fastapi.testclient import TestClient
from pymongo import MongoClient

from newsflow_contracts import ArticleData, Envelope
from newsflow_ingest.main import create_app
from newsflow_ingest.relay import Relay
from newsflow_ingest.service import PUBLISH_TIMEOUT_S
from newsflow_ingest.settings import Settings
from newsflow_ingest.store import ArticlesRepo
from newsflow_kit.kafka import AsyncPublisher
from newsflow_kit.mongo import async_mongo
from newsflow_kit.settings import KafkaSettings, MongoSettings
from newsflow_kit.testing import ServiceProcess, eventually, read_topic, settings_env


async def test_relay_stopped_before_the_flip_resends_the_same_version(
    kafka_topics: KafkaSettings, mongo_database: MongoSettings, service_process: Callable[..., ServiceProcess]
) -> None:
    env = {
        **settings_env(kafka=kafka_topics, mongo=mongo_database),
        "NEWSFLOW_FAST_PATH": "false",
        "NEWSFLOW_RELAY_GRACE_S": "0",
        "NEWSFLOW_RELAY_INTERVAL_S": "0.2",
    }
    api = service_process("newsflow-ingest", "api", env=env)
    source = httpx.post(f"{api.url}/sources", json={"name": "w", "kind": "push"}).json()["id"]
    ids = []
    for n in range(5):
        body = {"source_id": source, "title": f"Story {n}", "url": f"https://w.example/{n}", "body": f"Body {n}."}
        ids.append(httpx.post(f"{api.url}/articles", json=body).json()["id"])

    # A relay that dies after Kafka acknowledged and before the flip: its pass publishes, flips nothing.
    mongo = async_mongo(mongo_database)
    articles = ArticlesRepo(mongo[mongo_database.database])
    publisher = AsyncPublisher(kafka_topics, client_id="test-relay")
    try:
        acked = await Relay(articles, publisher, topic=kafka_topics.articles_topic, grace_s=0).publish_pending()
        assert len(acked) == 5
        first = read_topic(kafka_topics, kafka_topics.articles_topic, until=lambda ms: len(ms) >= 5)
        assert len(await articles.pending(datetime.now(UTC), 100)) == 5  # nothing was flipped

        service_process("newsflow-ingest", "relay", http=False, env=env)
        messages = read_topic(kafka_topics, kafka_topics.articles_topic, until=lambda ms: len(ms) >= 10)
        events = [Envelope[ArticleData].model_validate_json(m.value() or b"") for m in messages]
        by_article: dict[str, set[tuple[int, str]]] = {}
        for event in events:
            by_article.setdefault(event.data.id, set()).add((event.data.version, str(event.event_id)))
        # Every article arrived twice, always as version 1 with one event id: no gap, no new version.
        assert set(by_article) == set(ids)
        assert all(len(v) == 1 and next(iter(v))[0] == 1 for v in by_article.values())
        assert len(first) >= 5

        def all_sent() -> bool:
            client: MongoClient[dict[str, object]] = MongoClient(mongo_database.uri)
            try:
                return client[mongo_database.database]["article_versions"].count_documents({"bus": "pending"}) == 0
            finally:
                client.close()

        eventually(all_sent, timeout=20)
    finally:
        await publisher.close()
        await mongo.close()


def test_the_api_answers_once_stored_without_waiting_for_kafka(settings: Settings) -> None:
    """A push is durable when the insert is acknowledged: the answer does not wait on Kafka (here
    unreachable, so the publish times out) and the change stays pending for the relay."""
    unreachable = settings.model_copy(
        update={"kafka": settings.kafka.model_copy(update={"bootstrap_servers": "127.0.0.1:9"})}
    )
    with TestClient(create_app(unreachable)) as client:
        source = client.post("/sources", json={"name": "w", "kind": "push"}).json()["id"]
        started = time.perf_counter()
        body = {"source_id": source, "title": "Quick", "url": "https://w.example/quick", "body": "Body."}
        answer = client.post("/articles", json=body)
        elapsed = time.perf_counter() - started
        assert answer.status_code == 201, answer.text
        assert elapsed < PUBLISH_TIMEOUT_S / 2, elapsed  # it used to wait the whole publish time-out
    # leaving the app waited for the publish to give up; the change is left to the relay
    mongo: MongoClient[dict[str, object]] = MongoClient(settings.mongo.uri)
    try:
        versions = mongo[settings.database]["article_versions"]
        assert [v["bus"] for v in versions.find({"article_id": answer.json()["id"]})] == ["pending"]
    finally:
        mongo.close()
