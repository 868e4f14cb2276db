"""``comments``: POST and GET comments p50/p99 at a steady rate, through the comments API and the gateway.

setup      `newsflow-comments api` and `newsflow-comments worker` (it publishes the outbox and folds
           votes, as in production) on a private database and private topics, and one
           `newsflow-gateway api` in front; the article is made known in the comments projection's
           collection; rate limits lifted and pre-moderation off (the bench measures the write path,
           not the abuse rules); POSTs go to one article, GETs read the first page of another's
           thread of exactly 200 comments (so every repetition reads the same thread: posting into
           the thread read would grow it by 600 comments a repetition, and FerretDB sorts after
           fetching every match)
load       open loop at NEWSFLOW_BENCH_COMMENTS_RATE (default 50 req/s) for NEWSFLOW_BENCH_COMMENTS_SECONDS
           (default 6) per repetition and target; every POST is a distinct comment from a distinct reader
baseline   raw pymongo (async) insert_one of the same document / find of the same first page, same run,
           same open loop
warm-up    each leg (ours and the baseline) first sends for 1 s at its rate on the same client,
           unrecorded (errors still count): every leg starts with a new client, whose first requests
           would otherwise each open a connection (and the gateway's to the comments API, closed
           while the other legs ran)
quiet      each leg starts when the cores were < 15 % busy for 2 s (up to 60 s): the raw find costs
           the store about 45 ms of CPU (FerretDB reads the thread's 200 documents and sorts them),
           so at 50/s it overloads the store, and the backlog, or the comments worker catching up
           after it, must not land in the next leg
report     medians over NEWSFLOW_BENCH_COMMENTS_REPS repetitions (default 5, min/max in the notes); any
           non-2xx answer or failed request is an error of the run
goals      POST p99 ≤ 60 ms, GET p99 ≤ 40 ms (through the gateway, at 50 req/s, on the local default store)
"""

import asyncio
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pymongo import AsyncMongoClient, MongoClient

from bench.common import (
    KAFKA_SERVERS,
    MONGO_URI,
    Load,
    Result,
    Role,
    Send,
    open_loop,
    open_loop_calls,
    summary,
    wait_quiet,
)
from newsflow_contracts import COMMENTS, TopicSpec
from newsflow_kit.kafka import delete_topics, ensure_topics
from newsflow_kit.settings import KafkaSettings

NAME = "comments"
REPS = int(os.environ.get("NEWSFLOW_BENCH_COMMENTS_REPS", "5"))
THREAD_SIZE = 200
BODY = "A reader's comment of a typical length, saying something about the article. " * 3
GOALS_MS = {"post": 60.0, "get": 40.0}
KINDS = ("post", "get")
WARMUP_S = 1.0  # each leg first sends this long at its rate, unrecorded: connections open, as under steady load


@dataclass(frozen=True)
class Target:
    """Something that answers the comments API: ``{base_url}{prefix}/articles/{id}/comments``."""

    name: str
    base_url: str
    prefix: str = ""

    def send(self, kind: str, article_id: str) -> Send:
        url = f"{self.base_url}{self.prefix}/articles/{article_id}/comments"

        def post(client: httpx.AsyncClient, i: int) -> Any:
            # Every POST is another reader: the comments API takes the address from X-Client-IP (the
            # gateway's header), the gateway from X-Forwarded-For (the bench is its trusted proxy).
            address = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
            headers = {"X-Client-IP": address, "X-Forwarded-For": address, "User-Agent": "bench"}
            payload = {"author_name": f"Reader {i}", "body": f"{BODY} #{uuid.uuid4().hex[:8]}"}
            return client.post(url, json=payload, headers=headers)

        def get(client: httpx.AsyncClient, _i: int) -> Any:
            return client.get(url, params={"limit": 20})

        return post if kind == "post" else get


@dataclass(frozen=True)
class Articles:
    posted: str  # the POSTs' article
    read: str  # the GETs' article: a thread of THREAD_SIZE comments

    def of(self, kind: str) -> str:
        return self.posted if kind == "post" else self.read


async def measure_raw(collection: Any, articles: Articles, kind: str, *, rate: float, seconds: float) -> Load:
    """The baseline: the same documents written, or the same first page read, with raw pymongo."""
    query = {"article_id": articles.read, "depth": 0, "shown": True}

    async def post(i: int) -> None:
        await collection.insert_one(comment_doc(articles.posted, i))

    async def get(_i: int) -> None:
        await collection.find(query).sort([("created_at", 1), ("_id", 1)]).limit(21).to_list()

    return await open_loop_calls(post if kind == "post" else get, rate=rate, seconds=seconds, warmup_s=WARMUP_S)


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


async def _raw(db_name: str, articles: Articles, kind: str, *, rate: float, seconds: float) -> Load:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(MONGO_URI, tz_aware=True)
    try:
        return await measure_raw(client[db_name]["comments"], articles, kind, rate=rate, seconds=seconds)
    finally:
        await client.close()


def run() -> Result:
    rate = float(os.environ.get("NEWSFLOW_BENCH_COMMENTS_RATE", "50"))
    seconds = float(os.environ.get("NEWSFLOW_BENCH_COMMENTS_SECONDS", "6"))
    suffix = uuid.uuid4().hex[:8]
    db_name = f"bench_comments_{suffix}"
    articles = Articles(posted=f"bench-{suffix}-posted", read=f"bench-{suffix}-read")
    kafka = KafkaSettings(bootstrap_servers=KAFKA_SERVERS)
    topics = [TopicSpec(f"{COMMENTS.name}-bench-{suffix}", COMMENTS.partitions, COMMENTS.config)]
    topics.append(TopicSpec(f"articles.v1-bench-{suffix}", 1, {}))
    ensure_topics(kafka, topics)
    mongo: MongoClient[dict[str, Any]] = MongoClient(MONGO_URI)
    mongo[db_name]["article_refs"].insert_many(
        [{"_id": article, "status": "published", "version": 1} for article in (articles.posted, articles.read)]
    )
    lifted = str(10**9)
    env = {
        "NEWSFLOW_MONGO__DATABASE": db_name,
        "NEWSFLOW_KAFKA__COMMENTS_TOPIC": topics[0].name,
        "NEWSFLOW_KAFKA__ARTICLES_TOPIC": topics[1].name,
        "NEWSFLOW_COMMENTS__PROJECTION_GROUP": f"bench-{suffix}",
        **{f"NEWSFLOW_COMMENTS__{k}": lifted for k in ("AUTHOR_PER_MINUTE", "AUTHOR_PER_HOUR")},
        **{f"NEWSFLOW_COMMENTS__{k}": lifted for k in ("ADDRESS_PER_MINUTE", "ADDRESS_PER_HOUR")},
    }
    figures: dict[tuple[str, str], list[Load]] = {}
    roles: list[Role] = []
    result = Result(NAME)
    try:
        roles.append(api := Role.start("comments", "api", env))
        roles.append(Role.start("comments", "worker", env, ready=False))
        gateway_env = {
            **env,
            "NEWSFLOW_MONGO__DATABASE": f"{db_name}_gateway",
            "NEWSFLOW_SERVICES__COMMENTS_URL": api.url,
            "NEWSFLOW_HTTP__TRUSTED_PROXIES": '["127.0.0.1/32"]',
            **{f"NEWSFLOW_LIMITS__{k}": lifted for k in ("ANONYMOUS_BURST", "ANONYMOUS_PER_S")},
        }
        roles.append(gateway := Role.start("gateway", "api", gateway_env))
        httpx.put(f"{api.url}/moderation/policy", json={"premoderate_new_authors": False}).raise_for_status()
        targets = [Target("comments api", api.url), Target("gateway", gateway.url, "/v1")]
        raw = mongo[f"{db_name}_raw"]["comments"]
        raw.insert_many([comment_doc(articles.read, i) for i in range(THREAD_SIZE)])
        raw.create_index([("article_id", 1), ("depth", 1), ("created_at", 1)])
        asyncio.run(_fill(targets[0], articles.read))
        for _ in range(REPS):
            for kind in KINDS:
                for target in targets:
                    wait_quiet(window_s=2, limit_s=60)  # each leg starts after the last one's backlog drained
                    send = target.send(kind, articles.of(kind))
                    load = asyncio.run(open_loop(send, rate=rate, seconds=seconds, warmup_s=WARMUP_S))
                    figures.setdefault((target.name, kind), []).append(load)
                    result.error(f"{target.name} {kind.upper()}", load)
                wait_quiet(window_s=2, limit_s=60)
                raw_load = asyncio.run(_raw(f"{db_name}_raw", articles, kind, rate=rate, seconds=seconds))
                figures.setdefault(("raw pymongo", kind), []).append(raw_load)
                result.error(f"raw pymongo {kind}", raw_load)
    finally:
        for role in roles:
            role.stop()
        for name in (db_name, f"{db_name}_raw", f"{db_name}_gateway"):
            mongo.drop_database(name)
        mongo.close()
        delete_topics(kafka, [t.name for t in topics])
    _report(result, figures, rate, seconds)
    return result


async def _fill(target: Target, article: str) -> None:
    """The thread the GETs read: THREAD_SIZE comments through the API."""
    async with httpx.AsyncClient(timeout=30) as client:
        send = target.send("post", article)
        for i in range(THREAD_SIZE):
            (await send(client, 10**6 + i)).raise_for_status()


def _report(result: Result, figures: dict[tuple[str, str], list[Load]], rate: float, seconds: float) -> None:
    for kind in KINDS:
        base = {stat: summary([summary(load.latencies)[stat] for load in figures[("raw pymongo", kind)]])
                for stat in ("median", "p99")}  # fmt: skip
        for target in ("comments api", "gateway"):
            for stat, label in (("median", "p50"), ("p99", "p99")):
                mine = summary([summary(load.latencies)[stat] for load in figures[(target, kind)]])
                goal, met = "", None
                if label == "p99" and target == "gateway":
                    goal, met = f"≤ {GOALS_MS[kind]:.0f} ms", mine["median"] <= GOALS_MS[kind]
                metric = f"{kind.upper()} {label} ({target})"
                result.add(metric, mine["median"], base[stat]["median"], "ms", goal, met)
                result.notes.append(
                    f"{metric}: min/max {mine['min']:.1f}/{mine['max']:.1f} ms, "
                    f"raw pymongo {base[stat]['min']:.1f}/{base[stat]['max']:.1f} ms"
                )
    result.notes.append(
        f"{rate:.0f} req/s open loop, {seconds:.0f} s × {REPS} reps per kind and target; baseline = raw pymongo "
        "(async) insert_one / find of the same documents at the same pace; GET = first page (20) of a "
        f"{THREAD_SIZE}-comment thread (POSTs go to another article)"
    )
