"""``ingest-throughput``: articles/s from the push API to searchable, against one process doing raw ``_bulk``.

ours       NEWSFLOW_BENCH_INGEST_ARTICLES synthetic articles (default 5,000; seeded, 2-5 KB bodies,
           bench/corpus.py) pushed as `POST /articles:batch` of 250, two requests in flight, to one
           `newsflow-ingest api` (sanitise, analyse, store in MongoDB, publish to a private articles
           topic) with one `newsflow-index worker` indexing them; the clock stops when a `_count` on
           the alias (no forced refresh, i.e. what a search sees) reaches them all
baseline   one Python process sending the same articles' documents with `_bulk` (250 per request,
           same mapping, external versions) into a fresh index, until `_count` sees them all
5 reps each, alternating, fresh URLs per rep; medians with min/max.
goal       ≥ 0.8× the baseline
profile    the CPU each process used per article (``/proc``: the ingest api, the index worker, each
           server of the stack, this process), both sides: the rate the CPU alone allows on this
           machine's cores is the ceiling any ratio can reach here
"""

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from elasticsearch import Elasticsearch
from pymongo import MongoClient

from bench.common import ES_URL, KAFKA_SERVERS, MONGO_URI, CpuMeter, Result, Role, summary
from bench.corpus import push_payloads, synthetic_articles
from newsflow_contracts import ARTICLES, ARTICLES_DLQ, TopicSpec
from newsflow_index.bulk import write_bulk
from newsflow_index.indices import ensure_alias
from newsflow_index.mapping import to_document
from newsflow_index.settings import IndexingSettings
from newsflow_index.writes import Write
from newsflow_kit.kafka import delete_topics, ensure_topics
from newsflow_kit.settings import KafkaSettings

NAME = "ingest-throughput"
REPS = 5
BATCH = 250
IN_FLIGHT = 2
GOAL = 0.8


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


def ours(es: Elasticsearch, ingest: str, source_id: str, alias: str, payloads: list[dict[str, Any]]) -> float:
    """Articles/s from the first batch request to all of them counted in the alias."""
    before = es.count(index=alias)["count"]
    batches = [payloads[i : i + BATCH] for i in range(0, len(payloads), BATCH)]
    with httpx.Client(base_url=ingest, timeout=300) as client:

        def send(items: list[dict[str, Any]]) -> None:
            resp = client.post("/articles:batch", json={"source_id": source_id, "items": items})
            resp.raise_for_status()
            answers = resp.json()["items"]
            created = sum(1 for r in answers if r.get("status") == "created")
            if created != len(items):
                other = [r for r in answers if r.get("status") != "created"]
                raise RuntimeError(f"{created} of {len(items)} articles created; e.g. {other[:2]}")

        started = time.perf_counter()
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            list(pool.map(send, batches))
        _wait_count(es, alias, before + len(payloads))
        return len(payloads) / (time.perf_counter() - started)


def baseline(es: Elasticsearch, writes: list[Write]) -> float:
    """Articles/s of one process doing `_bulk` of the same documents straight into Elasticsearch."""
    alias = f"bench-bulk-{uuid.uuid4().hex[:8]}"
    ensure_alias(es, alias, IndexingSettings())
    try:
        started = time.perf_counter()
        for i in range(0, len(writes), BATCH):
            if write_bulk(es, alias, writes[i : i + BATCH], max_bytes=64 << 20):
                raise RuntimeError("the baseline's bulk request had failures")
        _wait_count(es, alias, len(writes))
        return len(writes) / (time.perf_counter() - started)
    finally:
        es.indices.delete(index=f"{alias}*", ignore_unavailable=True, allow_no_indices=True)


def private_pipeline(
    name: str,
) -> tuple[KafkaSettings, list[TopicSpec], str, str, dict[str, str]]:
    """Private articles topics (created), alias and database for one run, and the roles' environment."""
    suffix = uuid.uuid4().hex[:8]
    kafka = KafkaSettings(bootstrap_servers=KAFKA_SERVERS)
    topics = [
        TopicSpec(f"{ARTICLES.name}-bench-{suffix}", ARTICLES.partitions, ARTICLES.config),
        TopicSpec(f"{ARTICLES_DLQ.name}-bench-{suffix}", 1, ARTICLES_DLQ.config),
    ]
    ensure_topics(kafka, topics)
    alias, db_name = f"bench-{name}-{suffix}", f"bench_{name}_{suffix}"
    env = {
        "NEWSFLOW_MONGO__URI": MONGO_URI,
        "NEWSFLOW_MONGO__DATABASE": db_name,
        "NEWSFLOW_KAFKA__ARTICLES_TOPIC": topics[0].name,
        "NEWSFLOW_KAFKA__ARTICLES_DLQ_TOPIC": topics[1].name,
        "NEWSFLOW_ELASTICSEARCH__ALIAS": alias,
        "NEWSFLOW_ELASTICSEARCH__URL": ES_URL,
    }
    return kafka, topics, alias, db_name, env


def remove_pipeline(kafka: KafkaSettings, topics: list[TopicSpec], es: Elasticsearch, alias: str, db_name: str) -> None:
    """Deletes what :func:`private_pipeline` made, and closes ``es``."""
    delete_topics(kafka, [t.name for t in topics])
    es.indices.delete(index=f"{alias}*", ignore_unavailable=True, allow_no_indices=True)
    es.close()
    mongo: MongoClient[dict[str, Any]]
    with MongoClient(MONGO_URI) as mongo:
        mongo.drop_database(db_name)


def run() -> Result:
    n = int(os.environ.get("NEWSFLOW_BENCH_INGEST_ARTICLES", "5000"))
    kafka, topics, alias, db_name, env = private_pipeline("ingest")
    payloads = push_payloads(n, prefix="throughput")
    writes = [Write(a.id, a.version, False, to_document(a)) for a in synthetic_articles(n, prefix="throughput")]
    es = Elasticsearch(ES_URL, request_timeout=120)
    figures: dict[str, list[float]] = {"ours": [], "baseline": []}
    spent: dict[str, list[dict[str, float]]] = {"ours": [], "baseline": []}
    roles: list[Role] = []
    try:
        roles.append(ingest := Role.start("ingest", "api", env))
        roles.append(worker := Role.start("index", "worker", env, ready=False))
        meter = CpuMeter.of_stack(**{"ingest api": ingest.proc.pid, "index worker": worker.proc.pid})
        source = httpx.post(f"{ingest.url}/sources", json={"name": "bench-throughput", "kind": "push"})
        source.raise_for_status()
        source_id = str(source.json()["id"])
        warm = [{**p, "url": f"{p['url']}-warm"} for p in payloads[:BATCH]]
        ensure_alias(es, alias, IndexingSettings())  # the worker would create it; counting needs it first
        ours(es, ingest.url, source_id, alias, warm)  # imports, indexes, connections, the worker's group
        for rep in range(REPS):
            fresh = [{**p, "url": f"{p['url']}-{rep}"} for p in payloads]
            before = meter.read()
            figures["ours"].append(ours(es, ingest.url, source_id, alias, fresh))
            spent["ours"].append(meter.since(before))
            before = meter.read()
            figures["baseline"].append(baseline(es, writes))
            spent["baseline"].append(meter.since(before))
    finally:
        for role in roles:
            role.stop()
        remove_pipeline(kafka, topics, es, alias, db_name)
    o, b = summary(figures["ours"]), summary(figures["baseline"])
    result = Result(NAME)
    met = o["median"] >= GOAL * b["median"]
    result.add("push API → searchable (median of 5)", o["median"], b["median"], "art/s", f"≥ {GOAL}× _bulk", met)
    result.notes.append(f"ours min/max {o['min']:.0f}/{o['max']:.0f}, baseline min/max {b['min']:.0f}/{b['max']:.0f}")
    cores = os.cpu_count() or 1
    split = {side: CpuMeter.per_unit(spent[side], n) for side in spent}
    total = {side: sum(split[side].values()) for side in split}
    result.add("CPU per article, every process (median)", total["ours"], total["baseline"], "ms")
    result.add(f"the rate that CPU allows on {cores} cores", cores * 1000 / total["ours"],
               cores * 1000 / total["baseline"], "art/s")  # fmt: skip
    for side in split:
        result.notes.append(f"CPU ms per article, {side}: {CpuMeter.describe(split[side])}")
    result.notes.append(
        f"{n} articles per rep: one ingest api (batches of {BATCH}, {IN_FLIGHT} in flight, MongoDB + Kafka), "
        f"one index worker; baseline = one process, _bulk of {BATCH} of the same documents"
    )
    return result
