"""``ingest-throughput``: articles/s from publishing to searchable, against one process doing raw ``_bulk``.

    ours       NEWSFLOW_BENCH_INGEST_ARTICLES synthetic article events (default 10,000; seeded, 2-5 KB
               bodies) produced to a private articles topic (6 partitions) as fast as one producer
               can; one `newsflow-index worker` process indexes them; the clock stops when a `_count`
               on the alias (no forced refresh, i.e. what a search sees) reaches them all
    baseline   one Python process sending the same documents with `_bulk` (500 per request, same
               mapping, external versions) into a fresh index, until `_count` sees them all
    5 reps each, alternating; medians with min/max.

NOTE: the ingest service's push API and relay are not in this measurement yet (they did not exist
when this was written): it measures Kafka → worker → Elasticsearch → searchable. When they exist,
front the producer with `POST /articles:batch` to measure the whole path.
"""

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from bench.bench_search import ES_URL, synthetic_articles
from bench.common import Result, summary
from newsflow_contracts import ARTICLES, ARTICLES_DLQ, EventType, TopicSpec, new_event
from newsflow_index.bulk import write_bulk
from newsflow_index.indices import ensure_alias
from newsflow_index.mapping import to_document
from newsflow_index.settings import IndexingSettings
from newsflow_index.writes import Write
from newsflow_kit.kafka import admin, encode, ensure_topics, producer_config
from newsflow_kit.settings import KafkaSettings
from newsflow_kit.testing import unique

NAME = "ingest-throughput"
REPS = 5
BULK = 500


def _wait_count(es: Elasticsearch, alias: str, n: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if es.count(index=alias)["count"] >= n:
                return
        except Exception:  # the alias may not exist for the first few polls
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{alias}: {n} documents not searchable within {timeout}s")


def ours(es: Elasticsearch, kafka: KafkaSettings, events: list[tuple[bytes, bytes, Any]], n: int) -> float:
    """Articles/s through Kafka and one worker process."""
    from confluent_kafka import Producer

    suffix = unique("bench")
    settings = kafka.model_copy(
        update={"articles_topic": f"{ARTICLES.name}-{suffix}", "articles_dlq_topic": f"{ARTICLES_DLQ.name}-{suffix}"}
    )
    topics = [TopicSpec(settings.articles_topic, ARTICLES.partitions, ARTICLES.config),
              TopicSpec(settings.articles_dlq_topic, 1, ARTICLES_DLQ.config)]  # fmt: skip
    ensure_topics(settings, topics)
    alias = f"bench-ingest-{suffix}"
    env = {
        **os.environ,
        "NEWSFLOW_KAFKA__ARTICLES_TOPIC": settings.articles_topic,
        "NEWSFLOW_KAFKA__ARTICLES_DLQ_TOPIC": settings.articles_dlq_topic,
        "NEWSFLOW_ELASTICSEARCH__ALIAS": alias,
        "NEWSFLOW_ELASTICSEARCH__URL": ES_URL,
        "NEWSFLOW_LOG_LEVEL": "WARNING",
    }
    exe = Path(sys.executable).parent / "newsflow-index"
    worker = subprocess.Popen([str(exe), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    producer = Producer(producer_config(settings, client_id="bench-producer"))

    def produce(batch: list[tuple[bytes, bytes, Any]]) -> None:
        for key, value, headers in batch:
            while True:
                try:
                    producer.produce(settings.articles_topic, key=key, value=value, headers=headers)
                    break
                except BufferError:
                    producer.poll(0.05)
        producer.flush(60)

    try:
        produce(events[:1])  # warm-up: the worker has joined the group and the alias exists
        _wait_count(es, alias, 1, timeout=120)
        started = time.perf_counter()
        produce(events[1 : n + 1])
        _wait_count(es, alias, n + 1)
        return n / (time.perf_counter() - started)
    finally:
        worker.terminate()
        worker.wait(30)
        admin(settings).delete_topics([t.name for t in topics], operation_timeout=10)
        es.indices.delete(index=f"{alias}*", ignore_unavailable=True, allow_no_indices=True)


def baseline(es: Elasticsearch, writes: list[Write], n: int) -> float:
    """Articles/s of one process doing `_bulk` of the same documents straight into Elasticsearch."""
    alias = f"bench-bulk-{unique('b')}"
    ensure_alias(es, alias, IndexingSettings())
    try:
        started = time.perf_counter()
        for i in range(0, n, BULK):
            assert not write_bulk(es, alias, writes[i : i + BULK], max_bytes=64 << 20)
        _wait_count(es, alias, n)
        return n / (time.perf_counter() - started)
    finally:
        es.indices.delete(index=f"{alias}*", ignore_unavailable=True, allow_no_indices=True)


def run() -> Result:
    n = int(os.environ.get("NEWSFLOW_BENCH_INGEST_ARTICLES", "10000"))
    kafka = KafkaSettings(bootstrap_servers=os.environ.get("NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    articles = list(synthetic_articles(n + 1, prefix="ingest"))
    events = []
    for article in articles:
        value, headers = encode(new_event(EventType.ARTICLE_PUBLISHED, article, producer="bench"))
        events.append((article.id.encode(), value, headers))
    writes = [Write(a.id, a.version, False, to_document(a)) for a in articles[1:]]
    es = Elasticsearch(ES_URL, request_timeout=120)
    figures: dict[str, list[float]] = {"ours": [], "baseline": []}
    try:
        for _ in range(REPS):
            figures["ours"].append(ours(es, kafka, events, n))
            figures["baseline"].append(baseline(es, writes, n))
    finally:
        es.close()
    o, b = summary(figures["ours"]), summary(figures["baseline"])
    result = Result(NAME)
    result.add("Kafka → worker → searchable (median of 5)", o["median"], b["median"], "art/s", "≥ 0.8× baseline")
    result.notes.append(f"ours min/max {o['min']:.0f}/{o['max']:.0f}, baseline min/max {b['min']:.0f}/{b['max']:.0f}")
    result.notes.append(
        f"{n} articles per rep, one worker process (batches of 500), 6 partitions; baseline = one process, "
        f"_bulk of {BULK}; ingest push API + relay NOT included (not built yet): this is Kafka → searchable"
    )
    return result
