"""``comments``: POST and GET comments p50/p99 at a steady rate through the comments API (goals in docs/benchmarks.md).

setup      one `newsflow-comments api` subprocess on a free port, a private database and private topics;
           the article is made known in its projection; rate limits lifted and pre-moderation off (the
           bench measures the write path, not the abuse rules); GET reads a thread of 200 comments
load       open loop at NEWSFLOW_BENCH_COMMENTS_RATE (default 200 req/s) for NEWSFLOW_BENCH_COMMENTS_SECONDS
           (default 3) per repetition; every POST is a distinct comment from a distinct reader
baseline   raw pymongo (async) insert_one of the same document / find of the same first page, same run,
           same open loop
report     medians over 5 repetitions (min/max in the notes)

Targets are base URLs speaking the comments API paths; the gateway leg adds its own target (``Target``)
with a path prefix (``/v1``) and reuses :func:`steady` and :func:`measure_http`.
"""

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient, MongoClient

from bench.common import Result, summary
from newsflow_contracts import COMMENTS, TopicSpec
from newsflow_kit.kafka import admin, ensure_topics
from newsflow_kit.settings import KafkaSettings
from newsflow_kit.testing import free_port

NAME = "comments"
REPS = int(os.environ.get("NEWSFLOW_BENCH_COMMENTS_REPS", "5"))
MONGO = os.environ.get("NEWSFLOW_MONGO__URI", "mongodb://127.0.0.1:27017/")
KAFKA = os.environ.get("NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092")
THREAD_SIZE = 200
BODY = "A reader's comment of a typical length, saying something about the article. " * 3
Send = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Target:
    """Something that answers the comments API: ``{base_url}{prefix}/articles/{id}/comments``."""

    name: str
    base_url: str
    prefix: str = ""

    def post(self, article_id: str) -> Send:
        def send(client: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
            headers = {"X-Client-IP": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}", "User-Agent": "bench"}
            payload = {"author_name": f"Reader {i}", "body": f"{BODY} #{uuid.uuid4().hex[:8]}"}
            return client.post(
                f"{self.base_url}{self.prefix}/articles/{article_id}/comments", json=payload, headers=headers
            )

        return send

    def get(self, article_id: str) -> Send:
        def send(client: httpx.AsyncClient, _i: int) -> Awaitable[httpx.Response]:
            url = f"{self.base_url}{self.prefix}/articles/{article_id}/comments"
            return client.get(url, params={"limit": 20})

        return send


async def steady(op: Callable[[int], Awaitable[bool]], *, rate: float, seconds: float) -> tuple[list[float], int]:
    """Open loop: starts ``op(i)`` every 1/rate s whatever the answers; (latencies ms, failures)."""
    latencies: list[float] = []
    failures = 0

    async def one(i: int) -> None:
        nonlocal failures
        started = time.perf_counter()
        try:
            ok = await op(i)
        except Exception:  # a timeout or a refused connection is a failed request, not a crash
            ok = False
        failures += not ok
        latencies.append((time.perf_counter() - started) * 1000)

    tasks = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return latencies, failures


async def measure_http(target: Target, article_id: str, *, rate: float, seconds: float) -> dict[str, Any]:
    """p50/p99 and failures of POST, then GET, at ``rate`` against ``target``."""
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        for kind, send in (("post", target.post(article_id)), ("get", target.get(article_id))):

            async def op(i: int, send: Send = send) -> bool:
                return (await send(client, i)).status_code < 400

            out[kind] = await steady(op, rate=rate, seconds=seconds)
    return out


async def measure_raw(collection: Any, article_id: str, *, rate: float, seconds: float) -> dict[str, Any]:
    """The baseline: the same documents written and the same first page read with raw pymongo."""
    query = {"article_id": article_id, "depth": 0, "shown": True}

    async def post(i: int) -> bool:
        await collection.insert_one(comment_doc(article_id, i))
        return True

    async def get(_i: int) -> bool:
        await collection.find(query).sort([("created_at", 1), ("_id", 1)]).limit(21).to_list()
        return True

    return {
        "post": await steady(post, rate=rate, seconds=seconds),
        "get": await steady(get, rate=rate, seconds=seconds),
    }


def comment_doc(article_id: str, i: int) -> dict[str, Any]:
    """What the service stores for one comment (same fields and sizes)."""
    now = datetime.now(UTC)
    cid = uuid.uuid4().hex[:20]
    data = {"id": cid, "article_id": article_id, "body": BODY, "author_name": f"Reader {i}", "status": "visible"}
    return {
        "_id": cid,
        "article_id": article_id,
        "parent_id": None,
        "root_id": cid,
        "depth": 0,
        "author_name": f"Reader {i}",
        "body": f"{BODY} #{i}",
        "status": "visible",
        "version": 1,
        "score": 0,
        "created_at": now,
        "updated_at": now,
        "shown": True,
        "shown_children": 0,
        "hold_reasons": [],
        "token_hash": uuid.uuid4().hex * 2,
        "fingerprint": uuid.uuid4().hex,
        "address": uuid.uuid4().hex,
        "bus": "pending",
        "bus_at": now,
        "outbox": {"v1": {"event_id": str(uuid.uuid4()), "event_type": "comment.posted", "version": 1, "data": data}},
    }


def _start_api(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    full = {**os.environ, "NEWSFLOW_LOG_LEVEL": "WARNING", "NEWSFLOW_PORT": str(port), **env}
    exe = Path(sys.executable).parent / "newsflow-comments"
    proc = subprocess.Popen([str(exe), "api"], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("newsflow-comments api did not become ready")


def run() -> Result:
    rate = float(os.environ.get("NEWSFLOW_BENCH_COMMENTS_RATE", "200"))
    seconds = float(os.environ.get("NEWSFLOW_BENCH_COMMENTS_SECONDS", "3"))
    suffix = uuid.uuid4().hex[:8]
    db_name, article = f"bench_comments_{suffix}", f"bench-{suffix}"
    kafka = KafkaSettings(bootstrap_servers=KAFKA)
    topics = [TopicSpec(f"{COMMENTS.name}-bench-{suffix}", COMMENTS.partitions, COMMENTS.config)]
    topics.append(TopicSpec(f"articles.v1-bench-{suffix}", 1, {}))
    ensure_topics(kafka, topics)
    mongo: MongoClient[dict[str, Any]] = MongoClient(MONGO)
    mongo[db_name]["article_refs"].insert_one({"_id": article, "status": "published", "version": 1})
    lifted = str(10**9)
    env = {
        "NEWSFLOW_MONGO__DATABASE": db_name,
        "NEWSFLOW_KAFKA__COMMENTS_TOPIC": topics[0].name,
        "NEWSFLOW_KAFKA__ARTICLES_TOPIC": topics[1].name,
        "NEWSFLOW_COMMENTS__PROJECTION_GROUP": f"bench-{suffix}",
        **{f"NEWSFLOW_COMMENTS__{k}": lifted for k in ("AUTHOR_PER_MINUTE", "AUTHOR_PER_HOUR")},
        **{f"NEWSFLOW_COMMENTS__{k}": lifted for k in ("ADDRESS_PER_MINUTE", "ADDRESS_PER_HOUR")},
    }
    proc, url = _start_api(env)
    ours: dict[str, list[tuple[list[float], int]]] = {"post": [], "get": []}
    base: dict[str, list[tuple[list[float], int]]] = {"post": [], "get": []}
    try:
        httpx.put(f"{url}/moderation/policy", json={"premoderate_new_authors": False}).raise_for_status()
        target = Target("comments api", url)
        raw = mongo[f"{db_name}_raw"]["comments"]
        raw.insert_many([comment_doc(article, i) for i in range(THREAD_SIZE)])
        raw.create_index([("article_id", 1), ("depth", 1), ("created_at", 1)])

        async def fill() -> None:  # the thread GET reads, through the API
            async with httpx.AsyncClient(timeout=30) as client:
                send = target.post(article)
                for i in range(THREAD_SIZE):
                    await send(client, 10**6 + i)

        asyncio.run(fill())
        for _ in range(REPS):
            for kind, figures in asyncio.run(measure_http(target, article, rate=rate, seconds=seconds)).items():
                ours[kind].append(figures)
            for kind, figures in asyncio.run(_raw(db_name, article, rate=rate, seconds=seconds)).items():
                base[kind].append(figures)
            if any(_saturated(runs[-1]) for runs in (*ours.values(), *base.values())):
                break  # over capacity: more repetitions would only queue behind the backlog
    finally:
        proc.terminate()
        proc.wait(60)
        mongo.drop_database(db_name)
        mongo.drop_database(f"{db_name}_raw")
        mongo.close()
        admin(kafka).delete_topics([t.name for t in topics], operation_timeout=10)
    return _report(ours, base, rate, seconds)


def _saturated(run: tuple[list[float], int]) -> bool:
    latencies, failures = run
    return failures > 0.2 * len(latencies)


async def _raw(db_name: str, article: str, *, rate: float, seconds: float) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(MONGO, tz_aware=True)
    try:
        return await measure_raw(client[f"{db_name}_raw"]["comments"], article, rate=rate, seconds=seconds)
    finally:
        await client.close()


def _report(
    ours: dict[str, list[tuple[list[float], int]]],
    base: dict[str, list[tuple[list[float], int]]],
    rate: float,
    seconds: float,
) -> Result:
    result = Result(NAME)
    goals = {"post": "p99 ≤ 25 ms (via gateway)", "get": "p99 ≤ 15 ms (via gateway)"}
    for kind in ("post", "get"):
        for stat, label in (("median", "p50"), ("p99", "p99")):
            mine = summary([summary(lat)[stat] for lat, _ in ours[kind]])
            theirs = summary([summary(lat)[stat] for lat, _ in base[kind]])
            goal = goals[kind] if label == "p99" else ""
            result.add(f"comments {kind.upper()} {label} (comments api)", mine["median"], theirs["median"], "ms", goal)
            result.notes.append(
                f"{kind} {label}: ours min/max {mine['min']:.1f}/{mine['max']:.1f} ms, "
                f"baseline {theirs['min']:.1f}/{theirs['max']:.1f} ms"
            )
        failed = sum(f for _, f in ours[kind])
        total = sum(len(lat) for lat, _ in ours[kind])
        result.notes.append(
            f"{kind}: {failed} of {total} requests failed or timed out (10 s) over {len(ours[kind])} repetitions"
            + (" - SATURATED, repetitions stopped" if any(map(_saturated, ours[kind] + base[kind])) else "")
        )
    result.notes.append(
        f"{rate:.0f} req/s open loop, {seconds:.0f} s x {REPS} reps per kind; baseline = raw pymongo (async) "
        "insert_one / find of the same documents at the same pace; GET = first page (20) of a 200+ comment thread"
    )
    return result
