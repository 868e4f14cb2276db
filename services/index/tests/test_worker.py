"""The worker as a real process: articles.v1 events in, Elasticsearch documents out; poison → DLQ; redrive."""

from typing import Any

import httpx
from confluent_kafka import Message
from elasticsearch import Elasticsearch

from newsflow_contracts import ArticleStatus
from newsflow_index import bootstrap
from newsflow_index.settings import Settings
from newsflow_kit.testing import eventually, read_topic


def doc(es: Elasticsearch, alias: str, article_id: str) -> dict[str, Any]:
    return dict(es.get(index=alias, id=article_id)["_source"])


def test_worker_applies_publishes_updates_and_retractions(pipeline: Any, helpers: Any) -> None:
    pipeline.start("worker")
    api = pipeline.start("api")
    a1 = helpers.article("a", title="Storm closes harbour", body_text="The harbour is closed.")
    a2 = helpers.article("a", version=2, title="Storm reopens harbour", body_text="The harbour reopened.")
    b1 = helpers.article("b", title="Minister resigns over leak")
    b2 = helpers.article("b", version=2, status=ArticleStatus.RETRACTED)
    pipeline.events.send([a1, a2, b1, b2, a1, b1])  # replays of old versions come after the newer ones

    def search(q: str) -> list[str]:
        return [i["id"] for i in httpx.get(f"{api.url}/search", params={"q": q}).json()["items"]]

    eventually(lambda: search("reopens") == ["a"], timeout=20)
    assert search("closes") == [] and search("minister") == []
    assert doc(pipeline.es, pipeline.alias, "a")["version"] == 2
    assert doc(pipeline.es, pipeline.alias, "b") == {"id": "b", "version": 2, "seq": 2, "status": "retracted"}


def test_poison_goes_to_the_dlq_and_the_worker_continues(pipeline: Any, helpers: Any) -> None:
    pipeline.start("worker")
    pipeline.events.raw(b"junk", b"\x00not json")
    pipeline.events.raw(b"bad", b'{"event_type": "article.published", "data": {"id": "bad"}}')
    pipeline.events.send([helpers.article("good")])
    eventually(lambda: pipeline.es.exists(index=pipeline.alias, id="good").body, timeout=20)

    dead = read_topic(pipeline.kafka, pipeline.kafka.articles_dlq_topic, until=lambda msgs: len(msgs) >= 2)
    reasons = {m.key(): dict(m.headers() or [])["dlq.reason"] for m in dead}
    assert reasons == {b"junk": b"undecodable", b"bad": b"schema-invalid"}
    assert all("dlq.error" in dict(m.headers() or []) for m in dead)


def test_redrive_republishes_dlq_messages_once(pipeline: Any, helpers: Any) -> None:
    # A message dead-lettered by an earlier failure that is fixed now (e.g. a mapping that was wrong).
    value, headers = helpers.encode(helpers.event(helpers.article("lost", title="Recovered from the DLQ")))
    pipeline.events.raw(
        b"lost", value, headers=[*headers, ("dlq.reason", b"rejected")], topic=pipeline.kafka.articles_dlq_topic
    )
    pipeline.start("worker")
    settings = Settings(kafka=pipeline.kafka, elasticsearch=pipeline.elastic)

    assert bootstrap.redrive(settings) == 1
    eventually(lambda: pipeline.es.exists(index=pipeline.alias, id="lost").body, timeout=20)
    assert bootstrap.redrive(settings) == 0  # committed: nothing is re-driven twice

    def redriven(msgs: list[Message]) -> bool:
        return any(m.key() == b"lost" for m in msgs)

    again = [m for m in read_topic(pipeline.kafka, pipeline.kafka.articles_topic, until=redriven) if m.key() == b"lost"]
    headers = dict(again[0].headers() or [])
    assert "dlq.reason" not in headers and headers["redriven_from"].startswith(
        pipeline.kafka.articles_dlq_topic.encode()
    )
