"""``ingest-push``: the ingest half of ingest-throughput — articles/s through the push API, in batches.

ours       NEWSFLOW_BENCH_PUSH_ARTICLES synthetic articles (default 5,000; the seeded generator of
           the search bench: ~80-char titles, 2-5 KB bodies, 0-6 tags, en/ru/de) sent to one
           `newsflow-ingest api` process as `POST /articles:batch` of 250, two requests in flight;
           each article is sanitised, analysed (language, hashtags, key points), stored in MongoDB
           and published to a private articles topic before its batch is answered (fast path)
baseline   one Python process doing raw pymongo `insert_many` of the same payloads, same batch size,
           into a fresh collection — what storing the documents alone costs on this machine
5 reps each, alternating, fresh URLs per rep (every item is a new article); medians with min/max.
"""

import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from bench.common import Result, summary, wait_ready
from bench.corpus import push_payloads
from newsflow_contracts import ARTICLES, TopicSpec
from newsflow_kit.kafka import delete_topics, ensure_topics
from newsflow_kit.settings import KafkaSettings
from newsflow_kit.testing import free_port

NAME = "ingest-push"
REPS = 5
BATCH = 250
IN_FLIGHT = 2


def _fresh(payloads: list[dict[str, Any]], rep: str) -> list[dict[str, Any]]:
    return [{**p, "url": f"{p['url']}-{rep}"} for p in payloads]


def ours(base: str, source_id: str, payloads: list[dict[str, Any]]) -> float:
    """Articles/s the push API stores and publishes, two batch requests in flight."""
    batches = [payloads[i : i + BATCH] for i in range(0, len(payloads), BATCH)]
    with httpx.Client(base_url=base, timeout=300) as client:

        def send(items: list[dict[str, Any]]) -> int:
            resp = client.post("/articles:batch", json={"source_id": source_id, "items": items})
            resp.raise_for_status()
            return sum(1 for r in resp.json()["items"] if r.get("status") == "created")

        started = time.perf_counter()
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            created = sum(pool.map(send, batches))
        elapsed = time.perf_counter() - started
    if created != len(payloads):
        raise RuntimeError(f"{created} of {len(payloads)} articles created")
    return len(payloads) / elapsed


def baseline(mongo: MongoClient[dict[str, Any]], db_name: str, payloads: list[dict[str, Any]]) -> float:
    """Articles/s of raw ``insert_many`` of the same payloads, same batch size."""
    collection = mongo[db_name][f"raw_{uuid.uuid4().hex[:8]}"]
    docs = [dict(p) for p in payloads]  # insert_many adds _id in place
    started = time.perf_counter()
    for i in range(0, len(docs), BATCH):
        collection.insert_many(docs[i : i + BATCH], ordered=False)
    elapsed = time.perf_counter() - started
    collection.drop()
    return len(docs) / elapsed


def run() -> Result:
    n = int(os.environ.get("NEWSFLOW_BENCH_PUSH_ARTICLES", "5000"))
    kafka = KafkaSettings(bootstrap_servers=os.environ.get("NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    mongo_uri = os.environ.get("NEWSFLOW_MONGO__URI", "mongodb://127.0.0.1:27017/")
    suffix = uuid.uuid4().hex[:8]
    topic, db_name = f"{ARTICLES.name}-bench-{suffix}", f"bench_push_{suffix}"
    ensure_topics(kafka, [TopicSpec(topic, ARTICLES.partitions, ARTICLES.config)])
    port = free_port()
    env = {
        **os.environ,
        "NEWSFLOW_MONGO__URI": mongo_uri,
        "NEWSFLOW_MONGO__DATABASE": db_name,
        "NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "NEWSFLOW_KAFKA__ARTICLES_TOPIC": topic,
        "NEWSFLOW_PORT": str(port),
        "NEWSFLOW_LOG_LEVEL": "WARNING",
    }
    exe = str(Path(sys.executable).parent / "newsflow-ingest")
    api = subprocess.Popen([exe, "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    mongo: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    payloads = push_payloads(n)
    base = f"http://127.0.0.1:{port}"
    ours_rates: list[float] = []
    base_rates: list[float] = []
    try:
        wait_ready(f"{base}/readyz", proc=api)
        source = httpx.post(f"{base}/sources", json={"name": "bench-wire", "kind": "push"})
        source.raise_for_status()
        source_id = str(source.json()["id"])
        ours(base, source_id, _fresh(payloads[: BATCH * IN_FLIGHT], "warm"))  # imports, indexes, connections
        for rep in range(REPS):
            ours_rates.append(ours(base, source_id, _fresh(payloads, str(rep))))
            base_rates.append(baseline(mongo, db_name, _fresh(payloads, str(rep))))
    finally:
        api.terminate()
        try:
            api.wait(30)
        except subprocess.TimeoutExpired:
            api.kill()
        mongo.drop_database(db_name)
        mongo.close()
        delete_topics(kafka, [topic])
    o, b = summary(ours_rates), summary(base_rates)
    result = Result(NAME)
    result.add(f"articles/s, push API (batches of {BATCH})", o["median"], b["median"], "art/s", "-")
    result.notes.append(
        f"{n} articles x {REPS} reps; ours min/max {o['min']:.0f}/{o['max']:.0f}, "
        f"raw insert_many min/max {b['min']:.0f}/{b['max']:.0f}; one api process, fast path on"
    )
    return result
