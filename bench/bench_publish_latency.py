"""``publish-latency``: from ``POST /v1/articles`` returning to the article being found, seen on SSE and on WebSocket.

platform   private topics, databases and alias; one process each of `newsflow-ingest api`,
           `newsflow-index worker`, `newsflow-index api` and `newsflow-gateway api`; a publisher key
           for a push source made through the gateway's admin API
load       NEWSFLOW_BENCH_PUBLISH_ARTICLES articles (default 500) pushed one by one through the
           gateway at NEWSFLOW_BENCH_PUBLISH_RATE per second (default 20, open loop); all titles
           carry one marker word
observers  (a) searchable: `GET /v1/search?source=<the source>&sort=newest` every 50 ms, an article
           counts when it first appears (the older pages too, every 0.5 s, while an article posted
           over 2 s ago is unseen); (b) one SSE client on `/v1/stream?source=<the source>`;
           (c) one WebSocket client on `/v1/ws` subscribed with the same filter
latency    from the moment the POST returned (an event that beats the answer counts 0 ms: the ingest
           fast path publishes before it answers); for SSE and WebSocket also from the moment the POST
           was sent, which includes the whole write path
baselines  (a) Elasticsearch's own index → searchable: the same documents indexed one by one at
           the same rate into an index with the same refresh interval (1 s), polled the same way;
           (b, c) a bare Kafka produce → consume of the same event bytes, same rate, one consumer
goals      searchable p95 ≤ 1.25 s; SSE p99 ≤ 100 ms
"""

import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import websockets
from confluent_kafka import Consumer, Producer
from elasticsearch import AsyncElasticsearch, Elasticsearch
from pymongo import MongoClient

from bench.common import ES_URL, KAFKA_SERVERS, MONGO_URI, Result, Role, summary
from bench.corpus import push_payloads, synthetic_articles
from newsflow_contracts import ARTICLES, ARTICLES_DLQ, COMMENTS, TopicSpec
from newsflow_index.indices import ensure_alias
from newsflow_index.mapping import to_document
from newsflow_index.settings import IndexingSettings
from newsflow_kit.kafka import delete_topics, ensure_topics
from newsflow_kit.settings import KafkaSettings

NAME = "publish-latency"
POLL_S = 0.05
LATE_S = 2.0  # an article unseen this long after its POST returned is looked for past the first page
LATE_POLL_S = 0.5
SEARCH_P95_GOAL_MS = 1250.0
SSE_P99_GOAL_MS = 100.0


@dataclass
class Clock:
    """When each article's POST returned, and when each observer first saw it (perf_counter seconds)."""

    posted: dict[str, float] = field(default_factory=dict)
    sent: dict[str, float] = field(default_factory=dict)
    seen: dict[str, dict[str, float]] = field(default_factory=lambda: {"search": {}, "sse": {}, "ws": {}})
    errors: list[str] = field(default_factory=list)

    def see(self, observer: str, article_id: str) -> None:
        self.seen[observer].setdefault(article_id, time.perf_counter())

    def latencies(self, observer: str, *, from_sent: bool = False) -> list[float]:
        seen, start = self.seen[observer], self.sent if from_sent else self.posted
        return [max(0.0, (seen[a] - t) * 1000) for a, t in start.items() if a in seen]


@dataclass
class Platform:
    gateway: str
    key: str
    source_id: str
    alias: str


def _platform_env(suffix: str) -> tuple[dict[str, str], list[TopicSpec], list[str]]:
    """Private topics, alias and databases for one run; the settings that point every role at them."""
    topics = [
        TopicSpec(f"{ARTICLES.name}-bench-{suffix}", ARTICLES.partitions, ARTICLES.config),
        TopicSpec(f"{ARTICLES_DLQ.name}-bench-{suffix}", 1, ARTICLES_DLQ.config),
        TopicSpec(f"{COMMENTS.name}-bench-{suffix}", COMMENTS.partitions, COMMENTS.config),
    ]
    env = {
        "NEWSFLOW_MONGO__URI": MONGO_URI,
        "NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS": KAFKA_SERVERS,
        "NEWSFLOW_KAFKA__ARTICLES_TOPIC": topics[0].name,
        "NEWSFLOW_KAFKA__ARTICLES_DLQ_TOPIC": topics[1].name,
        "NEWSFLOW_KAFKA__COMMENTS_TOPIC": topics[2].name,
        "NEWSFLOW_ELASTICSEARCH__URL": ES_URL,
        "NEWSFLOW_ELASTICSEARCH__ALIAS": f"bench-publish-{suffix}",
        "NEWSFLOW_ADMIN_KEY": f"bench-admin-{uuid.uuid4().hex}",
    }
    return env, topics, [f"bench_publish_{suffix}_{name}" for name in ("ingest", "gateway")]


async def _sse(url: str, clock: Clock, ready: asyncio.Event) -> None:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as client,
        client.stream("GET", url, headers={"Accept": "text/event-stream"}) as response,
    ):
        response.raise_for_status()
        ready.set()
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                data = json.loads(line[5:])
                if isinstance(data, dict) and "id" in data:
                    clock.see("sse", data["id"])


async def _ws(url: str, source_id: str, clock: Clock, ready: asyncio.Event) -> None:
    async with websockets.connect(url, max_size=2**22) as ws:
        await ws.send(json.dumps({"type": "subscribe", "id": "bench", "filter": {"source": source_id}}))
        async for raw in ws:
            message = json.loads(raw)
            if message.get("type") == "subscribed":
                ready.set()
            elif message.get("type") == "event":
                clock.see("ws", message["data"]["id"])


async def _search(base: str, source_id: str, clock: Clock, stop: asyncio.Event) -> None:
    """Polls the newest page; when an article posted over ``LATE_S`` ago is still unseen, also reads
    the older pages (at most every ``LATE_POLL_S``): an article that turns searchable after more
    than a page of newer ones sorts below the first page, and would otherwise never be seen."""
    params: dict[str, str | int] = {"source": source_id, "sort": "newest", "size": 50}
    deep_at = 0.0
    async with httpx.AsyncClient(timeout=10) as client:
        while not stop.is_set():
            cursor = await _search_page(client, base, params, clock)
            now = time.perf_counter()
            late = [a for a, t in clock.posted.items() if now - t > LATE_S and a not in clock.seen["search"]]
            if late and now - deep_at >= LATE_POLL_S:
                deep_at = now
                while cursor and any(a not in clock.seen["search"] for a in late):
                    cursor = await _search_page(client, base, {**params, "cursor": cursor}, clock)
            await asyncio.sleep(POLL_S)


async def _search_page(client: httpx.AsyncClient, base: str, params: dict[str, str | int], clock: Clock) -> str | None:
    """One page of results: every article on it counts as seen; the cursor of the next page."""
    response = await client.get(f"{base}/v1/search", params=params)
    if response.status_code != 200:
        clock.errors.append(f"search answered {response.status_code}")
        return None
    page = response.json()
    for item in page["items"]:
        clock.see("search", item["id"])
    cursor = page.get("next_cursor")
    return str(cursor) if cursor else None


async def _publish(p: Platform, payloads: list[dict[str, Any]], rate: float, clock: Clock) -> None:
    headers = {"Authorization": f"Bearer {p.key}"}
    async with httpx.AsyncClient(base_url=p.gateway, timeout=30, headers=headers) as client:

        async def one(payload: dict[str, Any]) -> None:
            sent = time.perf_counter()
            # Published as it is sent, as the baseline's documents are indexed: the newest-first poll
            # then sees each article on its first page (the corpus's own dates are spread over weeks).
            payload = {**payload, "published_at": datetime.now(UTC).isoformat()}
            response = await client.post("/v1/articles", json=payload)
            if response.status_code >= 300:
                clock.errors.append(f"POST /v1/articles answered {response.status_code}")
                return
            clock.posted[response.json()["id"]] = time.perf_counter()
            clock.sent[response.json()["id"]] = sent

        tasks, start = [], time.perf_counter()
        for i, payload in enumerate(payloads):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(payload)))
        await asyncio.gather(*tasks)


async def _measure_ours(p: Platform, payloads: list[dict[str, Any]], rate: float) -> Clock:
    clock = Clock()
    sse_ready, ws_ready, stop = asyncio.Event(), asyncio.Event(), asyncio.Event()
    ws_url = p.gateway.replace("http://", "ws://") + "/v1/ws"
    observers = [
        asyncio.create_task(_sse(f"{p.gateway}/v1/stream?source={p.source_id}", clock, sse_ready)),
        asyncio.create_task(_ws(ws_url, p.source_id, clock, ws_ready)),
        asyncio.create_task(_search(p.gateway, p.source_id, clock, stop)),
    ]
    try:
        await asyncio.wait_for(asyncio.gather(sse_ready.wait(), ws_ready.wait()), 30)
        await _publish(p, payloads, rate, clock)
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and any(len(s) < len(clock.posted) for s in clock.seen.values()):
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        for task in observers:
            task.cancel()
        await asyncio.gather(*observers, return_exceptions=True)
    return clock


async def _measure_es(alias: str, n: int, rate: float, marker: str) -> list[float]:
    """Elasticsearch alone: index each document (no refresh) at ``rate``, poll a search until it appears."""
    documents = []
    for article in synthetic_articles(n, prefix="publish-es"):
        now = datetime.now(UTC)
        marked = article.model_copy(update={"title": f"{article.title} {marker}", "published_at": now})
        documents.append(to_document(marked))
    es = AsyncElasticsearch(ES_URL, request_timeout=30)
    indexed: dict[str, float] = {}
    found: dict[str, float] = {}
    stop = asyncio.Event()

    async def poll() -> None:
        while not stop.is_set():
            query = {"multi_match": {"query": marker, "fields": ["title.*"]}}
            hits = await es.search(index=alias, query=query, size=50, sort=[{"published_at": "desc"}])
            for hit in hits["hits"]["hits"]:
                found.setdefault(hit["_id"], time.perf_counter())
            await asyncio.sleep(POLL_S)

    async def one(i: int, document: dict[str, Any]) -> None:
        doc_id = f"es-{i}"
        await es.index(index=alias, id=doc_id, document={**document, "published_at": datetime.now(UTC).isoformat()})
        indexed[doc_id] = time.perf_counter()

    poller = asyncio.create_task(poll())
    try:
        tasks, start = [], time.perf_counter()
        for i, document in enumerate(documents):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i, document)))
        await asyncio.gather(*tasks)
        deadline = time.perf_counter() + 30
        while len(found) < len(indexed) and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.gather(poller, return_exceptions=True)
        await es.close()
    return [max(0.0, (found[d] - t) * 1000) for d, t in indexed.items() if d in found]


def _measure_kafka(topic: str, payloads: list[dict[str, Any]], rate: float) -> list[float]:
    """A bare producer → consumer of the same event bytes at ``rate``: the Kafka hop alone."""
    consumer = Consumer(
        {"bootstrap.servers": KAFKA_SERVERS, "group.id": f"bench-{uuid.uuid4().hex[:8]}",
         "auto.offset.reset": "latest", "fetch.wait.max.ms": 10}
    )  # fmt: skip
    producer = Producer({"bootstrap.servers": KAFKA_SERVERS, "linger.ms": 5})
    consumer.subscribe([topic])
    while not consumer.assignment():  # joined: from here on nothing produced is missed
        consumer.poll(0.1)
    sent: dict[bytes, float] = {}
    got: dict[bytes, float] = {}
    start = time.perf_counter()
    for i, payload in enumerate(payloads):
        while time.perf_counter() < start + i / rate:
            message = consumer.poll(0.005)
            if message is not None and message.error() is None and (got_key := message.key()) is not None:
                got.setdefault(got_key, time.perf_counter())
        key = f"k{i}".encode()
        producer.produce(topic, key=key, value=json.dumps(payload).encode())
        producer.poll(0)
        sent[key] = time.perf_counter()
    producer.flush(10)
    deadline = time.perf_counter() + 10
    while len(got) < len(sent) and time.perf_counter() < deadline:
        message = consumer.poll(0.05)
        if message is not None and message.error() is None and (got_key := message.key()) is not None:
            got.setdefault(got_key, time.perf_counter())
    consumer.close()
    return [(got[k] - t) * 1000 for k, t in sent.items() if k in got]


def run() -> Result:
    n = int(os.environ.get("NEWSFLOW_BENCH_PUBLISH_ARTICLES", "500"))
    rate = float(os.environ.get("NEWSFLOW_BENCH_PUBLISH_RATE", "20"))
    suffix = uuid.uuid4().hex[:8]
    marker = f"publishmarker{suffix}"
    payloads = [
        {**p, "title": f"{p['title']} {marker}", "url": f"{p['url']}-{suffix}"}
        for p in push_payloads(n, prefix="publish")
    ]
    env, topics, (ingest_db, gateway_db) = _platform_env(suffix)
    kafka = KafkaSettings(bootstrap_servers=KAFKA_SERVERS)
    ensure_topics(kafka, topics)
    roles: list[Role] = []
    result = Result(NAME)
    es_alias = f"bench-publish-es-{suffix}"
    try:
        roles.append(ingest := Role.start("ingest", "api", {**env, "NEWSFLOW_MONGO__DATABASE": ingest_db}))
        roles.append(Role.start("index", "worker", env, ready=False))
        roles.append(index := Role.start("index", "api", env))
        gateway = Role.start(
            "gateway", "api",
            {**env, "NEWSFLOW_MONGO__DATABASE": gateway_db, "NEWSFLOW_SERVICES__INGEST_URL": ingest.url,
             "NEWSFLOW_SERVICES__INDEX_URL": index.url, "NEWSFLOW_LIMITS__KEY_PER_S": "100000",
             "NEWSFLOW_LIMITS__KEY_BURST": "100000", "NEWSFLOW_LIMITS__ANONYMOUS_PER_S": "100000",
             "NEWSFLOW_LIMITS__ANONYMOUS_BURST": "100000"},
        )  # fmt: skip
        roles.append(gateway)
        admin_headers = {"Authorization": f"Bearer {env['NEWSFLOW_ADMIN_KEY']}"}
        source_id = httpx.post(f"{ingest.url}/sources", json={"name": "bench-publish", "kind": "push"}).json()["id"]
        key = httpx.post(
            f"{gateway.url}/v1/admin/keys",
            json={"name": "bench", "role": "publisher", "source_id": source_id},
            headers=admin_headers,
        ).json()["key"]
        platform = Platform(gateway.url, key, source_id, env["NEWSFLOW_ELASTICSEARCH__ALIAS"])
        asyncio.run(_measure_ours(platform, payloads[:5], rate))  # warm-up: the worker joined, alias exists
        clock = asyncio.run(_measure_ours(platform, payloads[5:], rate))
        ensure_alias_sync(es_alias)
        es_latencies = asyncio.run(_measure_es(es_alias, n - 5, rate, marker))
        kafka_latencies = _measure_kafka(topics[2].name, payloads[5:], rate)
    finally:
        for role in roles:
            role.stop()
        _cleanup(kafka, topics, [ingest_db, gateway_db], env["NEWSFLOW_ELASTICSEARCH__ALIAS"], es_alias)
    _report(result, clock, es_latencies, kafka_latencies, n - 5, rate)
    return result


def ensure_alias_sync(alias: str) -> None:
    """The baseline's index: the service's own mapping and refresh interval."""
    es = Elasticsearch(ES_URL, request_timeout=60)
    try:
        ensure_alias(es, alias, IndexingSettings())
    finally:
        es.close()


def _cleanup(kafka: KafkaSettings, topics: list[TopicSpec], dbs: list[str], *aliases: str) -> None:
    delete_topics(kafka, [t.name for t in topics])
    mongo: MongoClient[dict[str, Any]] = MongoClient(MONGO_URI)
    for name in dbs:
        mongo.drop_database(name)
    mongo.close()
    es = Elasticsearch(ES_URL, request_timeout=60)
    for alias in aliases:
        es.indices.delete(index=f"{alias}*", ignore_unavailable=True, allow_no_indices=True)
    es.close()


def _report(result: Result, clock: Clock, es: list[float], kafka: list[float], n: int, rate: float) -> None:
    for error in sorted(set(clock.errors)):
        result.error("publish", detail=error)
    for observer in ("search", "sse", "ws"):
        missing = len(clock.posted) - len(clock.latencies(observer))
        if missing:
            result.error(observer, detail=f"{missing} of {len(clock.posted)} articles never seen within 30 s")
    if len(clock.posted) < n:
        result.error("publish", detail=f"only {len(clock.posted)} of {n} articles accepted")
    search, sse, ws = (summary(clock.latencies(o) or [0.0]) for o in ("search", "sse", "ws"))
    base_es, base_kafka = summary(es or [0.0]), summary(kafka or [0.0])
    for label, ours, base in (("searchable", search, base_es), ("SSE", sse, base_kafka), ("WebSocket", ws, base_kafka)):
        for stat in ("median", "p95", "p99"):
            goal, met = "", None
            if label == "searchable" and stat == "p95":
                goal, met = f"≤ {SEARCH_P95_GOAL_MS:.0f} ms", ours["p95"] <= SEARCH_P95_GOAL_MS
            if label == "SSE" and stat == "p99":
                goal, met = f"≤ {SSE_P99_GOAL_MS:.0f} ms", ours["p99"] <= SSE_P99_GOAL_MS
            name = "p50" if stat == "median" else stat
            result.add(f"POST returned → {label} {name}", ours[stat], base[stat], "ms", goal, met)
    for label, observer in (("SSE", "sse"), ("WebSocket", "ws")):
        sent = summary(clock.latencies(observer, from_sent=True) or [0.0])
        result.add(f"POST sent → {label} p50", sent["median"], base_kafka["median"], "ms")
        result.add(f"POST sent → {label} p99", sent["p99"], base_kafka["p99"], "ms")
    result.notes.append(
        f"{n} articles at {rate:.0f}/s through the gateway; searchable polled every {POLL_S * 1000:.0f} ms "
        "(both sides); baselines: ES index → searchable (1 s refresh) for search, bare Kafka produce → consume "
        "for SSE and WebSocket"
    )
