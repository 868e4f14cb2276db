"""`make up`'s content path as real processes: demo feeds + publisher → api → poller → MongoDB and Kafka."""

from collections.abc import Callable
from typing import Any

import httpx

from newsflow_contracts import ArticleData, Envelope
from newsflow_ingest.demo import FEEDS, ITEMS, PUSH_SOURCE
from newsflow_ingest.domain import language
from newsflow_kit.settings import KafkaSettings, MongoSettings
from newsflow_kit.testing import ServiceProcess, eventually, free_port, read_topic, settings_env


def _sources(api: ServiceProcess) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in httpx.get(f"{api.url}/sources").json()["items"]}


def _articles(api: ServiceProcess, **params: object) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = httpx.get(f"{api.url}/articles", params={"limit": 500, **params}).json()["items"]
    return items


def test_demo_feeds_and_publisher_fill_a_living_site(
    kafka_topics: KafkaSettings, mongo_database: MongoSettings, service_process: Callable[..., ServiceProcess]
) -> None:
    feeds_port = free_port()
    env = {
        **settings_env(kafka=kafka_topics, mongo=mongo_database),
        "NEWSFLOW_FETCH__ALLOW_HOSTS": f'["127.0.0.1:{feeds_port}"]',
        "NEWSFLOW_POLLER__TICK_S": "0.2",
        "NEWSFLOW_DEMO__FEEDS_PORT": str(feeds_port),
        "NEWSFLOW_DEMO__PUBLISH_EVERY_S": "0.5",
    }
    api = service_process("newsflow-ingest", "api", env=env)
    demo_env = {**env, "NEWSFLOW_DEMO__INGEST_URL": api.url}
    demo = service_process("newsflow-ingest", "demo", http=False, env=demo_env)
    eventually(lambda: set(_sources(api)) == {*FEEDS, PUSH_SOURCE}, timeout=30)
    service_process("newsflow-ingest", "poller", http=False, env=env)

    def every_feed_landed() -> bool:
        sources = _sources(api)
        return all(_status(api, sources[name]["id"])["articles_seen"] >= ITEMS for name in FEEDS)

    eventually(every_feed_landed, timeout=120, interval=0.5)
    push_id = _sources(api)[PUSH_SOURCE]["id"]
    eventually(lambda: len(_articles(api, source=push_id)) >= 2, timeout=60)

    articles = _articles(api)
    assert {a["language"] for a in articles} >= {"en", "ru"}
    assert all(a["body_text"] and a["key_points"] and a["tags"] for a in articles)
    # The Russian feed's articles are Russian through and through (its full-text pages once were English).
    russian_feed = _sources(api)["vecherny-kurier"]["id"]
    russian = [a for a in articles if a["source_id"] == russian_feed]
    assert russian and all(a["language"] == "ru" and language.script(a["body_text"]) == "cyrillic" for a in russian)

    # Restarting the demo registers nothing twice.
    demo.stop()
    service_process("newsflow-ingest", "demo", http=False, env={**demo_env, "NEWSFLOW_DEMO__PUBLISH_EVERY_S": "0"})
    eventually(lambda: httpx.get(f"http://127.0.0.1:{feeds_port}/feeds/{next(iter(FEEDS))}").status_code == 200)
    assert len(_sources(api)) == len(FEEDS) + 1

    stored = {a["id"] for a in _articles(api)}
    messages = read_topic(
        kafka_topics,
        kafka_topics.articles_topic,
        until=lambda ms: {Envelope[ArticleData].model_validate_json(m.value() or b"").data.id for m in ms} >= stored,
        timeout=30,
    )
    assert len(messages) >= len(stored)


def _status(api: ServiceProcess, source_id: str) -> dict[str, Any]:
    status: dict[str, Any] = httpx.get(f"{api.url}/sources/{source_id}/status").json()
    return status
