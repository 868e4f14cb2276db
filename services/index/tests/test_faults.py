"""Fault injection against real processes: SIGKILL of a worker, a paused Elasticsearch, reindex under load.

``NEWSFLOW_TEST_FAULT_ARTICLES`` (default 20,000) sets how many articles the kill test streams;
``NEWSFLOW_TEST_ES_PAUSE_S`` (default 8) how long Elasticsearch is SIGSTOPped (it is shared with
every other suite running on this machine, so keep it short).
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, TopicPartition
from elasticsearch import Elasticsearch

from newsflow_contracts import ArticleData, ArticleStatus
from newsflow_kit.settings import KafkaSettings
from newsflow_kit.testing import eventually, unique

pytestmark = pytest.mark.slow


def stream(helpers: Any, prefix: str, n: int) -> tuple[list[ArticleData], dict[str, tuple[str, int]]]:
    """n articles: each published, every 2nd updated, every 10th then retracted; returns events and final state."""
    first, later = [], []
    final: dict[str, tuple[str, int]] = {}
    for i in range(n):
        aid = f"{prefix}-{i}"
        body = f"Report number {i} about the harbour, the council and the weather."
        first.append(helpers.article(aid, title=f"Story {i}", body_text=body, tags=[f"t{i % 7}"]))
        version = 1
        if i % 2 == 0:
            version = 2
            later.append(helpers.article(aid, version=2, title=f"Story {i} (updated)", body_text=body))
        final[aid] = ("published", version)
        if i % 10 == 0:
            later.append(helpers.article(aid, version=version + 1, status=ArticleStatus.RETRACTED))
            final[aid] = ("retracted", version + 1)
    return first + later, final


def stored_state(es: Elasticsearch, alias: str) -> dict[str, tuple[str, int]]:
    """(status, version) of every document behind the alias."""
    es.indices.refresh(index=alias)
    state: dict[str, tuple[str, int]] = {}
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"size": 10000, "sort": [{"id": "asc"}], "_source": ["status", "version"]}
        if after:
            body["search_after"] = after
        hits = es.search(index=alias, body=body)["hits"]["hits"]
        for hit in hits:
            assert hit["_id"] not in state, f"duplicate {hit['_id']}"
            state[hit["_id"]] = (hit["_source"]["status"], hit["_source"]["version"])
        if len(hits) < 10000:
            return state
        after = hits[-1]["sort"]


def indexed(es: Elasticsearch, alias: str) -> int:
    try:
        es.indices.refresh(index=alias)
        return int(es.count(index=alias)["count"])
    except Exception:
        return 0


def dlq_size(settings: KafkaSettings) -> int:
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": unique("dlq-check")})
    try:
        return sum(consumer.get_watermark_offsets(TopicPartition(settings.articles_dlq_topic, 0), timeout=10))
    finally:
        consumer.close()


def elasticsearch_pid() -> int:
    """The process listening on Elasticsearch's port (the JVM, not its launcher)."""
    out = subprocess.run(["ss", "-ltnpH", "sport = :9200"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"pid=(\d+)", out)
    assert match, f"no process listens on 9200: {out!r}"
    return int(match[1])


@contextmanager
def paused(pid: int) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def test_worker_killed_mid_stream_loses_nothing(pipeline: Any, helpers: Any, fault_articles: int) -> None:
    items, final = stream(helpers, "k", fault_articles)
    pipeline.events.send(items)
    victim = pipeline.start("worker")
    pipeline.start("worker")  # takes the victim's partitions over

    eventually(lambda: indexed(pipeline.es, pipeline.alias) >= fault_articles // 5, timeout=90, interval=0.05)
    victim.kill()
    assert indexed(pipeline.es, pipeline.alias) < fault_articles, "killed too late to be mid-stream"
    victim.start(wait_ready=False)

    eventually(lambda: stored_state(pipeline.es, pipeline.alias) == final, timeout=120, interval=1)
    assert dlq_size(pipeline.kafka) == 0


def test_elasticsearch_paused_mid_stream_loses_nothing(pipeline: Any, helpers: Any) -> None:
    pause_s = float(os.environ.get("NEWSFLOW_TEST_ES_PAUSE_S", "8"))
    env = pipeline.env() | {
        "NEWSFLOW_ELASTICSEARCH__TIMEOUT_S": "2",  # so the pause surfaces as timeouts, not one long request
        "NEWSFLOW_INDEXING__MAX_BACKOFF_S": "2",
    }
    worker = pipeline.start("worker", env=env)
    before, final_before = stream(helpers, "p", 2000)
    during, final_during = stream(helpers, "q", 2000)
    pipeline.events.send(before)
    eventually(lambda: indexed(pipeline.es, pipeline.alias) > 0, timeout=30, interval=0.05)
    with paused(elasticsearch_pid()):
        pipeline.events.send(during)
        time.sleep(pause_s)  # the fault itself: Elasticsearch stays frozen this long

    eventually(lambda: stored_state(pipeline.es, pipeline.alias) == final_before | final_during, timeout=90, interval=1)
    assert dlq_size(pipeline.kafka) == 0
    assert "transient" in Path(worker.log).read_text(), "the pause never reached the worker"


def test_reindex_under_load_keeps_search_answering(pipeline: Any, helpers: Any) -> None:
    env = pipeline.env()
    pipeline.start("worker", env=env)
    api = pipeline.start("api", env=env)
    first, final_first = stream(helpers, "r", 3000)
    pipeline.events.send(first)
    eventually(lambda: stored_state(pipeline.es, pipeline.alias) == final_first, timeout=60, interval=0.5)
    old_index = list(pipeline.es.indices.get_alias(name=pipeline.alias).body)

    answers: list[tuple[int, int]] = []
    stop = threading.Event()

    def search_continuously() -> None:
        with httpx.Client(base_url=api.url, timeout=10) as client:
            while not stop.is_set():
                response = client.get("/search", params={"q": "harbour council", "size": 5})
                answers.append((response.status_code, response.json().get("total", -1)))

    searcher = threading.Thread(target=search_continuously)
    searcher.start()
    try:
        more, final_more = stream(helpers, "s", 1000)
        feeder = threading.Thread(target=pipeline.events.send, args=(more,))
        feeder.start()
        exe = Path(sys.executable).parent / "newsflow-index"
        done = subprocess.run([str(exe), "reindex"], env={**os.environ, **env}, capture_output=True, timeout=120)
        feeder.join()
        eventually(
            lambda: stored_state(pipeline.es, pipeline.alias) == final_first | final_more, timeout=60, interval=0.5
        )
    finally:
        stop.set()
        searcher.join()

    assert done.returncode == 0, done.stderr.decode()[-2000:]
    new_index = list(pipeline.es.indices.get_alias(name=pipeline.alias).body)
    assert len(new_index) == 1 and new_index != old_index
    assert not pipeline.es.indices.exists(index=old_index[0])
    assert len(answers) > 10
    assert all(status == 200 and total >= 2700 for status, total in answers), [a for a in answers if a[0] != 200][:5]
