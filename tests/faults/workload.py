"""The load a fault strikes: a publisher pushing and updating articles (retrying the same content on
503 / lost answers), SSE clients that resume with Last-Event-ID, and the final agreement check between
MongoDB, ``articles.v1``, Elasticsearch and every client.
"""

import asyncio
import json
import random
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from confluent_kafka import Consumer
from elasticsearch import Elasticsearch
from httpx_sse import aconnect_sse
from pymongo import MongoClient

from newsflow_kit.testing import eventually

RETRY_DEADLINE_S = 240.0


@dataclass
class Publisher:
    """Pushes new articles and updates of earlier ones through the gateway, one at a time.

    Every push is retried with the same content until acknowledged: retries must be idempotent (a
    lost answer must not make a second version). ``expected`` is what the world must end up holding.
    """

    url: str
    key: str
    source_id: str
    rate_per_s: float = 8.0
    seed: int = 0
    expected: dict[str, int] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    word: str = field(default_factory=lambda: "fx" + secrets.token_hex(4))  # in every title and URL
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _revisions: dict[int, int] = field(default_factory=dict)  # story number -> its latest revision

    def start(self) -> "Publisher":
        self._thread = threading.Thread(target=self._run, name=f"publisher-{self.source_id}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(RETRY_DEADLINE_S + 30)
        assert not self._thread.is_alive(), "the publisher is stuck"

    def push_new(self, count: int) -> None:
        """Pushes ``count`` new stories at once, before or between runs (the soak's warm-up)."""
        with self._client() as client:
            for _ in range(count):
                self._push(client, self._story(len(self._revisions), new=True))

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=10)

    def _story(self, item: int, *, new: bool) -> dict[str, Any]:
        self._revisions[item] = 0 if new else self._revisions[item] + 1
        return {
            "title": f"{self.word} fault story {item}",
            "url": f"https://faults.example/{self.word}/{item}",
            "body": f"<p>Revision {self._revisions[item]} of story {item} about {self.word}.</p>"
            + "<p>Filler.</p>" * 10,
            "tags": ["faults"],
            "language": "en",
        }

    def _run(self) -> None:
        rng = random.Random(self.seed)
        with self._client() as client:
            while not self._stop.is_set():
                if self._revisions and rng.random() < 0.3:
                    article = self._story(rng.choice(list(self._revisions)), new=False)
                else:
                    article = self._story(len(self._revisions), new=True)
                self._push(client, article)
                time.sleep(1 / self.rate_per_s)

    def _push(self, client: httpx.Client, article: dict[str, Any]) -> None:
        deadline = time.monotonic() + RETRY_DEADLINE_S
        while time.monotonic() < deadline:
            try:
                resp = client.post("/v1/articles", json=article)
            except httpx.HTTPError as exc:
                self.errors[type(exc).__name__] += 1
                time.sleep(0.5)
                continue
            self.statuses[resp.status_code] += 1
            if resp.status_code in (200, 201):
                body = resp.json()
                self.expected[body["id"]] = max(self.expected.get(body["id"], 0), int(body["version"]))
                return
            if resp.status_code == 503:
                if "Retry-After" not in resp.headers:
                    self.bad.append(f"503 without Retry-After: {resp.text[:200]}")
                time.sleep(min(1.0, float(resp.headers.get("Retry-After", "1"))))
                continue
            if resp.status_code in (502, 504):
                # The gateway could not reach ingest (a role restarting): retried like a lost answer.
                time.sleep(0.5)
                continue
            self.bad.append(f"{resp.status_code}: {resp.text[:300]}")
            time.sleep(0.5)
        self.bad.append(f"not acknowledged within {RETRY_DEADLINE_S}s: {article['url']}")


def register_publisher(url: str, admin_key: str, seed: int) -> Publisher:
    """A push source of its own and a publisher key for it (through the gateway's admin API)."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=30) as admin:
        name = f"Faults {secrets.token_hex(3)}"
        body = {"name": name, "kind": "push", "homepage": "https://faults.example/", "language": "en"}
        source = admin.post("/v1/admin/sources", json=body)
        assert source.status_code == 201, source.text
        source_id = source.json()["id"]
        key = admin.post("/v1/admin/keys", json={"name": name, "role": "publisher", "source_id": source_id})
        assert key.status_code == 201, key.text
    return Publisher(url, key.json()["key"], source_id, seed=seed)


@dataclass
class StreamClient:
    """One SSE subscriber of a source; resumes with Last-Event-ID after any disconnect."""

    last_id: str | None = None
    latest: dict[str, int] = field(default_factory=dict)
    events: int = 0
    connects: int = 0
    repeats: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)


class Watchers:
    """``count`` SSE clients on their own event loop (a thread), all following ``source``."""

    def __init__(self, url: str, source: str, count: int, *, churn_s: tuple[float, float] | None = None) -> None:
        """``churn_s``: each connection is dropped after a random time in that range, then resumed."""
        self.url, self.source, self.churn_s = url, source, churn_s
        self._rng = random.Random(11)
        self.clients = [StreamClient() for _ in range(count)]
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._thread = threading.Thread(target=self._loop.run_forever, name="sse-watchers", daemon=True)

    def start(self) -> "Watchers":
        self._thread.start()
        self._future = asyncio.run_coroutine_threadsafe(self._main(), self._loop)
        return self

    def connected(self) -> int:
        return sum(1 for c in self.clients if c.connects > 0)

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=60), limits=limits) as http:
            self._tasks = [asyncio.create_task(self._follow(http, c)) for c in self.clients]
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _follow(self, http: httpx.AsyncClient, client: StreamClient) -> None:
        assert self._stop is not None
        while not self._stop.is_set():
            headers = {"Last-Event-ID": client.last_id} if client.last_id else {}
            try:
                async with aconnect_sse(
                    http, "GET", f"{self.url}/v1/stream", params={"source": self.source}, headers=headers
                ) as source:
                    if source.response.status_code != 200:
                        await asyncio.sleep(self._rng.uniform(1.0, 3.0))
                        continue
                    client.connects += 1
                    until = time.monotonic() + self._rng.uniform(*self.churn_s) if self.churn_s else float("inf")
                    async for sse in source.aiter_sse():
                        if self._stop.is_set():
                            return
                        if sse.event.startswith("article.") and sse.data:
                            self._seen(client, sse.id, json.loads(sse.data))
                        if time.monotonic() > until:
                            break  # churn: drop the connection, resume with Last-Event-ID
            except (httpx.HTTPError, OSError):
                # Dropped: back off with jitter as EventSource does (its default retry is ~3 s), so
                # hundreds of clients do not hammer a gateway that is starting.
                await asyncio.sleep(self._rng.uniform(1.0, 3.0))
                continue
            await asyncio.sleep(self._rng.uniform(0.1, 0.5))

    @staticmethod
    def _seen(client: StreamClient, sse_id: str, data: dict[str, Any]) -> None:
        # Live events of different partitions may come out of ``seq`` order; a repeat is an id seen before.
        if sse_id in client.seen:
            client.repeats.append(sse_id)
        client.seen.add(sse_id)
        client.last_id = sse_id
        client.events += 1
        client.latest[data["id"]] = max(client.latest.get(data["id"], 0), int(data["version"]))

    def stop(self) -> None:
        def cancel() -> None:
            assert self._stop is not None
            self._stop.set()
            for task in self._tasks:
                task.cancel()

        self._loop.call_soon_threadsafe(cancel)
        try:
            self._future.result(timeout=90)
            asyncio.run_coroutine_threadsafe(self._loop.shutdown_asyncgens(), self._loop).result(30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


def mongo_versions(uri: str, source: str | None = None, *, database: str = "newsflow_ingest") -> dict[str, int]:
    """Every article version in ingest's store (of one source), and whether all reached Kafka."""
    client: MongoClient[dict[str, Any]] = MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        query = {"source_id": source} if source else {}
        docs = client[database]["article_versions"].find(query, {"article_id": 1, "version": 1, "bus": 1})
        out: dict[str, int] = {}
        for doc in docs:  # one document per version: the latest of each article
            assert doc.get("bus") == "sent", f"article {doc['article_id']} v{doc['version']} still pending"
            out[str(doc["article_id"])] = max(out.get(str(doc["article_id"]), 0), int(doc["version"]))
        return out
    finally:
        client.close()


def kafka_versions(bootstrap: str, topic: str = "articles.v1", source: str | None = None) -> dict[str, int]:
    """The latest version of each article on the topic (read from the beginning)."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "faults-" + secrets.token_hex(4),
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })  # fmt: skip
    consumer.subscribe([topic])
    out: dict[str, int] = {}
    idle = 0
    try:
        while idle < 3:
            batch = consumer.consume(1000, 1.0)
            idle = 0 if batch else idle + 1
            for msg in batch:
                if msg.error() is not None or msg.value() is None:
                    continue
                data = json.loads(msg.value())["data"]
                if source is None or data["source_id"] == source:
                    out[data["id"]] = max(out.get(data["id"], 0), int(data["version"]))
    finally:
        consumer.close()
    return out


def es_versions(url: str, source: str | None = None, alias: str = "articles") -> dict[str, int]:
    client = Elasticsearch(url, request_timeout=20)
    try:
        client.indices.refresh(index=alias)
        query = {"term": {"source_id": source}} if source else {"match_all": {}}
        hits = client.search(index=alias, query=query, size=10_000, version=True, source=False)["hits"]["hits"]
        return {str(h["_id"]): int(h["_version"]) for h in hits}
    finally:
        client.close()


def assert_agreement(
    settings: dict[str, str], publisher: Publisher, watchers: Watchers | None, *, timeout: float = 120
) -> None:
    """MongoDB, articles.v1, Elasticsearch and every resumed SSE client hold exactly what was acknowledged."""
    assert not publisher.bad, f"publisher saw: {publisher.bad[:5]}"
    expected = publisher.expected
    assert expected, "nothing was published"
    source = publisher.source_id

    def same() -> bool:
        stores = {
            "mongodb": mongo_versions(settings["NEWSFLOW_MONGO__URI"], source),
            "articles.v1": kafka_versions(settings["NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS"], source=source),
            "elasticsearch": es_versions(settings["NEWSFLOW_ELASTICSEARCH__URL"], source),
        }
        for name, held in stores.items():
            assert held == expected, f"{name} differs: {_diff(expected, held)}"
        for n, client in enumerate(watchers.clients if watchers else []):
            assert client.latest == expected, f"SSE client {n} differs: {_diff(expected, client.latest)}"
        return True

    eventually(same, timeout=timeout, interval=2)
    for n, client in enumerate(watchers.clients if watchers else []):
        assert not client.repeats, f"SSE client {n} got events again after resuming: {client.repeats[:5]}"


def assert_whole_store_agrees(settings: dict[str, str], *, timeout: float = 120) -> None:
    """Every article (feeds included): MongoDB, articles.v1 and Elasticsearch hold the same versions."""

    def same() -> bool:
        mongo = mongo_versions(settings["NEWSFLOW_MONGO__URI"])
        kafka = kafka_versions(settings["NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS"])
        es = es_versions(settings["NEWSFLOW_ELASTICSEARCH__URL"])
        assert kafka == mongo, f"articles.v1 vs MongoDB: {_diff(mongo, kafka)}"
        assert es == mongo, f"Elasticsearch vs MongoDB: {_diff(mongo, es)}"
        return True

    eventually(same, timeout=timeout, interval=3)


def _diff(expected: dict[str, int], held: dict[str, int]) -> str:
    missing = sorted(set(expected) - set(held))
    extra = sorted(set(held) - set(expected))
    stale = sorted(k for k in set(expected) & set(held) if expected[k] != held[k])
    return (
        f"{len(expected)} expected, {len(held)} held; missing {missing[:3]} ({len(missing)}), "
        f"extra {extra[:3]} ({len(extra)}), other version {[(k, expected[k], held[k]) for k in stale[:3]]} "
        f"({len(stale)})"
    )
