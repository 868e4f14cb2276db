"""The relay closes the dual-write hole: a crash between Kafka's ack and the flip only re-sends."""

from collections.abc import Callable

import httpx

from newsflow_contracts import ArticleData, Envelope
from newsflow_ingest.relay import CRASH_BEFORE_FLIP
from newsflow_kit.settings import KafkaSettings, MongoSettings
from newsflow_kit.testing import ServiceProcess, eventually, read_topic, settings_env


def test_relay_killed_before_the_flip_resends_the_same_version(
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

    crashing = service_process("newsflow-ingest", "relay", http=False, env={**env, CRASH_BEFORE_FLIP: "1"})
    assert crashing.proc is not None
    assert crashing.proc.wait(30) == 70  # it published, then died before writing the flip
    first = read_topic(kafka_topics, kafka_topics.articles_topic, until=lambda ms: len(ms) >= 5)
    pending = httpx.get(f"{api.url}/articles/{ids[0]}").json()
    assert pending["version"] == 1

    service_process("newsflow-ingest", "relay", http=False, env=env)
    messages = read_topic(kafka_topics, kafka_topics.articles_topic, until=lambda ms: len(ms) >= 10)
    events = [Envelope[ArticleData].model_validate_json(m.value() or b"") for m in messages]
    by_article: dict[str, set[tuple[int, str]]] = {}
    for event in events:
        by_article.setdefault(event.data.id, set()).add((event.data.version, str(event.event_id)))
    # Every article arrived, at least once, always as version 1 with one event id: no gap, no new version.
    assert set(by_article) == set(ids)
    assert all(len(v) == 1 and next(iter(v))[0] == 1 for v in by_article.values())
    assert len(first) >= 5

    def all_sent() -> bool:
        from pymongo import MongoClient

        client: MongoClient[dict[str, object]] = MongoClient(mongo_database.uri)
        try:
            return client[mongo_database.database]["article_versions"].count_documents({"bus": "pending"}) == 0
        finally:
            client.close()

    eventually(all_sent, timeout=20)
