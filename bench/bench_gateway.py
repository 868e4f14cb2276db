"""``gateway``: the gateway legs of ``search`` and ``comments`` (docs/benchmarks.md), each with its same-run baseline.

search     GET /v1/search through one `newsflow-gateway api` in front of one `newsflow-index api`, over
           a corpus loaded as bench_search does (NEWSFLOW_BENCH_GATEWAY_ARTICLES, default 20,000);
           baseline: the same queries sent to the index API directly, same client and concurrency
comments   POST and GET /v1/articles/{id}/comments through the gateway in front of `newsflow-comments
           api` at a steady NEWSFLOW_BENCH_COMMENTS_RATE (default 200 req/s); baseline: raw pymongo
           insert_one / find of the same documents
each rep   NEWSFLOW_BENCH_SEARCH_SECONDS (default 8) of load; 5 repetitions; medians reported
"""

import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch
from pymongo import MongoClient

from bench.bench_search import ES_URL, _queries, _wait_ready, closed_loop, load_corpus
from bench.common import Result, summary
from newsflow_kit.testing import free_port

NAME = "gateway"
REPS = 5
MONGO = os.environ.get("NEWSFLOW_MONGO__URI", "mongodb://127.0.0.1:27017/")


def _start(service: str, role: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    full = {**os.environ, "NEWSFLOW_LOG_LEVEL": "WARNING", "NEWSFLOW_PORT": str(port), **env}
    exe = Path(sys.executable).parent / f"newsflow-{service}"
    proc = subprocess.Popen([str(exe), role], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    _wait_ready(f"{url}/readyz")
    return proc, url


def _gateway_env(**urls: str) -> dict[str, str]:
    return {
        **{f"NEWSFLOW_SERVICES__{k.upper()}_URL": v for k, v in urls.items()},
        "NEWSFLOW_MONGO__DATABASE": f"bench_gateway_{os.getpid()}",
        "NEWSFLOW_LIMITS__ANONYMOUS_BURST": "10000000",
        "NEWSFLOW_LIMITS__ANONYMOUS_PER_S": "10000000",
    }


def _search_leg(result: Result, seconds: float, concurrency: int) -> None:
    n = int(os.environ.get("NEWSFLOW_BENCH_GATEWAY_ARTICLES", "20000"))
    alias = f"bench-gateway-{os.getpid()}"
    es = Elasticsearch(ES_URL, request_timeout=600)
    procs: list[subprocess.Popen[bytes]] = []
    figures: dict[str, dict[str, list[float]]] = {"ours": {}, "baseline": {}}
    try:
        load_corpus(es, alias, n)
        index, index_url = _start("index", "api", {"NEWSFLOW_ELASTICSEARCH__ALIAS": alias})
        procs.append(index)
        gateway, gateway_url = _start("gateway", "api", _gateway_env(index=index_url))
        procs.append(gateway)
        queries = _queries(500)

        def ours(client: httpx.AsyncClient, i: int) -> Any:
            return client.get(f"{gateway_url}/v1/search", params=queries[i % len(queries)])

        def baseline(client: httpx.AsyncClient, i: int) -> Any:
            return client.get(f"{index_url}/search", params=queries[i % len(queries)])

        for send in (ours, baseline):
            asyncio.run(closed_loop(send, seconds=2, concurrency=concurrency))
        for _ in range(REPS):
            for name, send in (("ours", ours), ("baseline", baseline)):
                qps, latencies, _errors = asyncio.run(closed_loop(send, seconds=seconds, concurrency=concurrency))
                stats = summary(latencies)
                for key, value in (("qps", qps), ("p50", stats["median"]), ("p99", stats["p99"])):
                    figures[name].setdefault(key, []).append(value)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(20)
        es.indices.delete(index=f"{alias}*", ignore_unavailable=True, allow_no_indices=True)
        es.close()
    o = {k: summary(v)["median"] for k, v in figures["ours"].items()}
    b = {k: summary(v)["median"] for k, v in figures["baseline"].items()}
    result.add("gateway /v1/search QPS", o["qps"], b["qps"], "req/s", "≥ 0.7× (vs index api)")
    result.add("gateway /v1/search p50", o["p50"], b["p50"], "ms", "≤ baseline + 3 ms")
    result.add("gateway /v1/search p99", o["p99"], b["p99"], "ms")
    result.notes.append(f"search: {n} articles, {concurrency} clients, baseline = the index API without the gateway")


async def _steady(send: Any, *, rate: float, seconds: float) -> list[float]:
    """Open-loop load: one request every 1/rate s, whatever the answers' speed; latencies in ms."""
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as client:

        async def one(i: int) -> None:
            started = time.perf_counter()
            await send(client, i)
            latencies.append((time.perf_counter() - started) * 1000)

        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return latencies


def _comments_leg(result: Result, seconds: float) -> None:
    rate = float(os.environ.get("NEWSFLOW_BENCH_COMMENTS_RATE", "200"))
    db_name = f"bench_comments_{os.getpid()}"
    procs: list[subprocess.Popen[bytes]] = []
    mongo: MongoClient[dict[str, Any]] = MongoClient(MONGO)
    try:
        comments, comments_url = _start("comments", "api", {"NEWSFLOW_MONGO__DATABASE": db_name})
        procs.append(comments)
        gateway, gateway_url = _start("gateway", "api", _gateway_env(comments=comments_url))
        procs.append(gateway)
        article = "bench-" + uuid.uuid4().hex[:8]
        body = {"author_name": "Bench", "body": "A reader's comment of a typical length. " * 3}

        def post(client: httpx.AsyncClient, _i: int) -> Any:
            return client.post(f"{gateway_url}/v1/articles/{article}/comments", json=body)

        def get(client: httpx.AsyncClient, _i: int) -> Any:
            return client.get(f"{gateway_url}/v1/articles/{article}/comments", params={"limit": 20})

        raw = mongo[f"{db_name}_raw"]["comments"]

        def raw_post() -> None:
            raw.insert_one({**body, "article_id": article, "created_at": datetime.now(UTC)})

        def raw_get() -> None:
            list(raw.find({"article_id": article}).sort("created_at", 1).limit(20))

        ours: dict[str, list[float]] = {"post": [], "get": []}
        base: dict[str, list[float]] = {"post": [], "get": []}
        for _ in range(REPS):
            ours["post"].append(summary(asyncio.run(_steady(post, rate=rate, seconds=seconds)))["p99"])
            ours["get"].append(summary(asyncio.run(_steady(get, rate=rate, seconds=seconds)))["p99"])
            base["post"].append(summary(_timed_many(raw_post, int(rate * 2)))["p99"])
            base["get"].append(summary(_timed_many(raw_get, int(rate * 2)))["p99"])
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(20)
        mongo.drop_database(db_name)
        mongo.drop_database(f"{db_name}_raw")
        mongo.close()
    for kind, goal in (("post", "≤ 25 ms"), ("get", "≤ 15 ms")):
        result.add(f"comments {kind.upper()} p99 via gateway", summary(ours[kind])["median"],
                   summary(base[kind])["median"], "ms", goal)  # fmt: skip
    result.notes.append(f"comments: {rate:.0f} req/s open loop; baseline = raw pymongo of the same documents")


def _timed_many(fn: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def run() -> Result:
    seconds = float(os.environ.get("NEWSFLOW_BENCH_SEARCH_SECONDS", "8"))
    concurrency = int(os.environ.get("NEWSFLOW_BENCH_CONCURRENCY", "16"))
    result = Result(NAME)
    _search_leg(result, seconds, concurrency)
    _comments_leg(result, seconds)
    return result
