"""Issue 9.3: the change order a resuming SSE client can trust (real processes: two ingest API
replicas, the ingest relay, a gateway; real Kafka and FerretDB).

Many threads push into both ingest replicas at once, so changes are claimed concurrently across
processes and reach Kafka in another order than ``seq`` (articles are keyed to several partitions).
Meanwhile one SSE client keeps connecting, reading a few events, dropping the connection in the
middle of the stream and resuming with ``Last-Event-ID``. Everything it receives, across all its
connections, must be each change exactly once, in change-cursor order, and together exactly the
changes ingest stored.
"""

import asyncio
import json
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from newsflow_kit.settings import KafkaSettings, MongoSettings
from newsflow_kit.testing import ServiceProcess, settings_env, unique

THREADS = 8
ARTICLES = 160
EDITS = 40  # new versions of already pushed articles, pushed concurrently with the rest
DEADLINE_S = 180
ADMIN_KEY = "order-admin-key-0123456789abcdef"


@dataclass
class Received:
    seqs: list[int] = field(default_factory=list)
    changes: list[tuple[str, int]] = field(default_factory=list)  # (article id, version) in arrival order
    connections: int = 0
    cut_mid_stream: int = 0


def push_concurrently(ingests: list[ServiceProcess], source_id: str, done: threading.Event) -> None:
    """ARTICLES new articles and EDITS edits from THREADS threads, spread over the ingest replicas."""
    work = [("new", n) for n in range(ARTICLES)] + [("edit", n) for n in range(EDITS)]
    random.Random(7).shuffle(work)  # an edit may even come first: then the "new" push is the edit

    def push(job: tuple[str, int]) -> None:
        kind, n = job
        title = f"Order story {n}" + (" (updated)" if kind == "edit" else "")
        body = {"title": title, "url": f"https://order.example/{n}", "body": f"<p>{title}.</p>", "source_id": source_id}
        replica = ingests[(n + (kind == "edit")) % len(ingests)]
        response = httpx.post(f"{replica.url}/articles", json=body, timeout=120)
        assert response.status_code in (200, 201), response.text

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(push, work))
    finally:
        done.set()


async def read_a_few(url: str, last_id: str | None, limit: int, into: Received) -> str | None:
    """One connection: resumes after ``last_id``, takes up to ``limit`` article events, then drops the
    connection (also when fewer come within a moment: a client leaving mid-stream). Returns the last id."""
    headers = {"Last-Event-ID": last_id} if last_id is not None else {}
    taken = 0
    into.connections += 1
    async with httpx.AsyncClient(timeout=30) as client:
        try:
            async with (
                asyncio.timeout(1.5),
                aconnect_sse(client, "GET", f"{url}/v1/stream", headers=headers) as source,
            ):
                async for sse in source.aiter_sse():
                    assert sse.event not in ("reset", "overflow"), f"{sse.event}: {sse.data}"
                    if not sse.event.startswith("article."):
                        continue
                    data = json.loads(sse.data)
                    assert sse.id == str(data["seq"])
                    into.seqs.append(int(sse.id))
                    into.changes.append((data["id"], data["version"]))
                    last_id = sse.id
                    taken += 1
                    if taken >= limit:
                        into.cut_mid_stream += 1
                        break  # leaves with events still on the wire
        except TimeoutError:
            pass
    return last_id


def stored_changes(ingest: ServiceProcess) -> list[dict[str, Any]]:
    """Every change ingest committed, in change-cursor order."""
    changes: list[dict[str, Any]] = []
    since = "0"
    while True:
        page = httpx.get(f"{ingest.url}/articles", params={"since": since, "limit": 500}, timeout=30).json()
        changes += page["items"]
        if not page.get("next_cursor"):
            return changes
        since = str(page["next_cursor"])


def resumes(gateway: ServiceProcess) -> dict[str, float]:
    """How many resumes the gateway answered from its recent changes and from ingest (its /metrics)."""
    text = httpx.get(f"{gateway.url}/metrics", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=30).text
    counts = {"memory": 0.0, "store": 0.0}
    for line in text.splitlines():
        if line.startswith("newsflow_gateway_stream_resumes_total{"):
            counts[line.split('source="')[1].split('"')[0]] = float(line.split()[-1])
    return counts


# Resumes are answered from the gateway's recent changes; with none kept, every one reads ingest.
@pytest.mark.parametrize("recent", ["2000", "0"], ids=["from-memory", "from-ingest"])
async def test_a_resuming_client_gets_every_change_once_in_cursor_order_under_concurrent_pushes(
    service_process: Callable[..., ServiceProcess],
    kafka_topics: KafkaSettings,
    mongo_database: MongoSettings,
    recent: str,
) -> None:
    env = settings_env(kafka=kafka_topics, mongo=mongo_database)
    ingests = [service_process("newsflow-ingest", "api", env=env) for _ in range(2)]
    service_process("newsflow-ingest", "relay", http=False, env=env)
    gateway_env = env | {
        "NEWSFLOW_SERVICES__INGEST_URL": ingests[0].url,
        "NEWSFLOW_STREAMS__QUEUE_SIZE": "1024",
        "NEWSFLOW_STREAMS__POLL_S": "0.5",
        "NEWSFLOW_STREAMS__RECENT": recent,
        "NEWSFLOW_ADMIN_KEY": ADMIN_KEY,
        "NEWSFLOW_LIMITS__ANONYMOUS_BURST": "100000",
        "NEWSFLOW_LIMITS__ANONYMOUS_PER_S": "10000",
    }
    gateway = service_process("newsflow-gateway", "api", env=gateway_env)
    source = httpx.post(f"{ingests[0].url}/sources", json={"name": unique("order"), "kind": "push"}, timeout=30)
    assert source.status_code == 201, source.text

    received = Received()
    rng = random.Random(11)
    done = threading.Event()
    # The first connection resumes from the start of the log, so the union must be all of it.
    last_id: str | None = "0"
    pushing = asyncio.create_task(asyncio.to_thread(push_concurrently, ingests, source.json()["id"], done))
    async with asyncio.timeout(DEADLINE_S):
        while True:
            last_id = await read_a_few(gateway.url, last_id, rng.randint(1, 25), received)
            if done.is_set():
                head = httpx.get(f"{ingests[1].url}/articles/changes/head", timeout=30).json()["seq"]
                if last_id is not None and int(last_id) >= head:
                    break
    await pushing

    stored = stored_changes(ingests[1])
    assert len(stored) == ARTICLES + EDITS
    assert [c["seq"] for c in stored] == list(range(1, ARTICLES + EDITS + 1))  # ingest's cursor has no hole
    assert received.seqs == sorted(set(received.seqs)), "a change came twice or out of cursor order"
    assert received.seqs == [c["seq"] for c in stored], "the client's union is not what ingest stored"
    assert received.changes == [(c["id"], c["version"]) for c in stored]
    assert received.connections >= 10 and received.cut_mid_stream >= 5  # it did resume, many times

    served = resumes(gateway)
    if recent == "0":  # none kept: every resume reads ingest, even one already at the head
        assert served == {"memory": 0, "store": received.connections}, served
    else:
        assert served == {"memory": received.connections, "store": 0}, served
