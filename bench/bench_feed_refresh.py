"""``feed-refresh``: feeds one poller process refreshes per minute, at 100, 1,000 and 10,000 sources.

A local feed server serves N RSS feeds (``NEWSFLOW_BENCH_FEED_ITEMS`` items of ~2 KB each, default
20); half answer 304 to a repeated ETag, half send no validators and have one new item at every
fetch (the whole feed comes each time, the oldest item drops out): the realistic mix. At each size
(``NEWSFLOW_BENCH_FEED_SIZES``, default ``100,1000,10000``):

1. **first import**: the sources are registered (straight into the store, the same documents
   ``POST /sources`` writes) and one poller process ingests every item; timed, and every feed must
   have been fetched exactly once (no lease lost mid-poll);
2. **refresh** rounds (``NEWSFLOW_BENCH_FEED_ROUNDS``, default 5): every source is marked due and the
   time until all were fetched again gives feeds/min; the poller's CPU time (``/proc``) per feed;
   the median of the rounds is the figure, their min/max go in the notes;
3. **baseline**: a bare asyncio client (httpx, the same concurrency as the poller) fetches the same
   feeds with the same conditional headers and does nothing else: feeds/min and CPU per feed of
   the fetching alone, the floor under what the poller adds (parsing, normalising, storing).

Above 1,000 sources the feeds carry ``NEWSFLOW_BENCH_FEED_ITEMS_LARGE`` items (default 5), so that
the first import at 10,000 (50,000 articles) fits a benchmark run.

Goals: ≥ 2,000 feeds/min at 1,000 sources and ≥ 1,000/min at 10,000; a first import of 1,000
feeds × 20 items within 2 minutes with no feed fetched twice. ``NEWSFLOW_BENCH_FEED_SIZES=20`` is a
smoke run.
"""

import asyncio
import functools
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from bench.common import Result, cpu_seconds, summary
from newsflow_contracts import ARTICLES, TopicSpec
from newsflow_ingest.demo_content import article
from newsflow_ingest.store import due_tick, with_due_tick
from newsflow_kit.kafka import delete_topics, ensure_topics
from newsflow_kit.settings import KafkaSettings
from newsflow_kit.testing import free_port

NAME = "feed-refresh"
CONCURRENCY = 32  # the poller's default NEWSFLOW_POLLER__CONCURRENCY, and the baseline's


@functools.cache
def _entry(n: int, i: int) -> str:
    a = article(f"bench-{n}:{i}")
    body = "".join(f"<p>{p}</p>" for p in a.paragraphs)
    return (
        f"<item><guid>b{n}-{i}</guid><title>{a.title} {n}-{i}</title>"
        f"<link>https://bench.example/{n}/{i}</link><description><![CDATA[{body}]]></description></item>"
    )


def _feed(n: int, items: int, first: int) -> bytes:
    """Feed ``n`` holding items ``first`` .. ``first + items - 1``, newest first."""
    entries = "".join(_entry(n, i) for i in reversed(range(first, first + items)))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>f{n}</title>{entries}</channel></rss>'.encode()


class FeedServer:
    """Serves /f/<n>; even feeds carry an ETag (and answer 304 to it); odd ones carry no validator and
    gain a new item on every fetch (the oldest drops out), as a busy feed without caching headers does."""

    def __init__(self, items: int) -> None:
        self.hits: dict[int, int] = {}
        self.lock = threading.Lock()
        state = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                try:
                    n = int(self.path.rsplit("/", 1)[1])
                except ValueError:
                    n = -1
                with state.lock:
                    state.hits[n] = fetched = state.hits.get(n, 0) + 1
                etag = f'"f{n}-v1"' if n % 2 == 0 else None
                if n < 0 or (etag and self.headers.get("If-None-Match") == etag):
                    self.send_response(404 if n < 0 else 304)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = _feed(n, items, 0 if etag else fetched - 1)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                if etag:
                    self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port}/f/{n}"


def _source(n: int, url: str, now: datetime) -> dict[str, Any]:
    return {
        "_id": f"bench{n:06d}",
        "name": f"bench-{n}",
        "kind": "feed",
        "homepage": None,
        "feed_url": url,
        "language": "en",
        "min_interval_s": 3600,  # due only when a round marks it due: a poll never comes round by itself
        "max_interval_s": 86400,
        "fetch_full_text": False,
        "paused": False,
        "created_at": now,
        "next_poll_at": now,
        "due_tick": due_tick(now),
        "interval_s": 3600,
        "lease_until": now,
        "error_count": 0,
        "consecutive_errors": 0,
        "articles_seen": 0,
        "items_skipped": 0,
    }


async def _baseline(server: FeedServer, feeds: int, rounds: int) -> tuple[list[float], list[float]]:
    """feeds/min and CPU ms per feed, one of each a round, of a bare client fetching every feed with
    conditional headers."""
    etags: dict[int, str] = {}
    slots = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=CONCURRENCY)) as client:

        async def fetch(n: int) -> None:
            async with slots:
                headers = {"If-None-Match": etags[n]} if n in etags else {}
                resp = await client.get(server.url(n), headers=headers)
                if resp.headers.get("etag"):
                    etags[n] = resp.headers["etag"]

        await asyncio.gather(*(fetch(n) for n in range(feeds)))  # primes the ETags, as round 1 does
        rates, cpu = [], []
        for _ in range(rounds):
            started, cpu0 = time.perf_counter(), time.thread_time()  # this thread: the client, not the server
            await asyncio.gather(*(fetch(n) for n in range(feeds)))
            rates.append(feeds / (time.perf_counter() - started) * 60)
            cpu.append((time.thread_time() - cpu0) / feeds * 1000)
    return rates, cpu


def _wait_all_fetched(
    server: FeedServer,
    sources: Any,
    feeds: int,
    hits: int,
    since: datetime,
    timeout: float,
    poller: "subprocess.Popen[bytes]",
    log: Path,
) -> float:
    """Seconds until every feed was fetched ``hits`` times and its poll recorded in the store.

    The feed server's own counts say when the fetches are done; only then is the store asked (a count
    with a date range reads every source on FerretDB, and asking it four times a second took half of
    the store's time from the poller being measured).
    """
    started = time.perf_counter()
    while True:
        with server.lock:
            fetched = sum(1 for n in range(feeds) if server.hits.get(n, 0) >= hits)
        if fetched == feeds and sources.count_documents({"last_fetch_at": {"$gte": since}}) == feeds:
            break
        if poller.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the poller exited with status {poller.returncode}:\n{tail}")
        if time.perf_counter() - started > timeout:
            sample = list(sources.find({}, {"last_status": 1, "last_error": 1, "next_poll_at": 1}).limit(2))
            raise RuntimeError(f"feeds not refreshed in time: {sample}")
        time.sleep(0.05 if fetched < feeds else 0.25)
    return time.perf_counter() - started


def _one_size(feeds: int, items: int, rounds: int, result: Result) -> None:
    kafka = KafkaSettings(bootstrap_servers=os.environ.get("NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    mongo_uri = os.environ.get("NEWSFLOW_MONGO__URI", "mongodb://127.0.0.1:27017/")
    suffix = uuid.uuid4().hex[:8]
    topic, db_name = f"{ARTICLES.name}-bench-{suffix}", f"bench_feeds_{suffix}"
    ensure_topics(kafka, [TopicSpec(topic, ARTICLES.partitions, ARTICLES.config)])
    server = FeedServer(items)
    api_port = free_port()
    env = {
        **os.environ,
        "NEWSFLOW_MONGO__DATABASE": db_name,
        "NEWSFLOW_KAFKA__ARTICLES_TOPIC": topic,
        "NEWSFLOW_FETCH__ALLOW_HOSTS": f'["127.0.0.1:{server.port}"]',
        "NEWSFLOW_PORT": str(api_port),
        "NEWSFLOW_LOG_LEVEL": "WARNING",
        "NEWSFLOW_POLLER__TICK_S": "0.2",
        "NEWSFLOW_POLLER__CONCURRENCY": str(CONCURRENCY),
    }
    exe = str(Path(sys.executable).parent / "newsflow-ingest")
    api = subprocess.Popen([exe, "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    poller: subprocess.Popen[bytes] | None = None
    poller_log = Path(os.environ.get("NEWSFLOW_BENCH_LOG_DIR", "/tmp")) / f"feed-refresh-poller-{feeds}.log"
    mongo: MongoClient[dict[str, Any]] = MongoClient(mongo_uri, tz_aware=True)
    sources = mongo[db_name]["sources"]
    try:
        for _ in range(150):  # the api creates the indexes at start-up
            try:
                if httpx.get(f"http://127.0.0.1:{api_port}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        now = datetime.now(UTC)
        for start in range(0, feeds, 1000):
            sources.insert_many([_source(n, server.url(n), now) for n in range(start, min(feeds, start + 1000))])
        with poller_log.open("wb") as out:
            poller = subprocess.Popen([exe, "poller"], env=env, stdout=out, stderr=subprocess.STDOUT)
        import_s = _wait_all_fetched(server, sources, feeds, 1, now, max(900.0, feeds * 0.5), poller, poller_log)
        twice = sum(1 for n in range(feeds) if server.hits.get(n, 0) > 1)
        versions = mongo[db_name]["article_versions"]
        stored = versions.count_documents({})  # a first import: version 1 each
        rates, cpu = [], []
        for round_ in range(rounds):
            started_at = datetime.now(UTC)
            sources.update_many({}, {"$set": with_due_tick({"next_poll_at": started_at})})
            cpu0 = cpu_seconds(poller.pid)
            elapsed = _wait_all_fetched(
                server, sources, feeds, round_ + 2, started_at, max(300.0, feeds * 0.3), poller, poller_log
            )
            rates.append(feeds / elapsed * 60)
            cpu.append((cpu_seconds(poller.pid) - cpu0) / feeds * 1000)
        not_modified = sources.count_documents({"last_status": 304})
        refreshed_new = versions.count_documents({}) - stored  # each changing feed had one new item a round
    finally:
        for proc in (poller, api):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        mongo.drop_database(db_name)
        mongo.close()
        delete_topics(kafka, [topic])
    base_rates, base_cpus = asyncio.run(_baseline(server, feeds, rounds))
    server.server.shutdown()
    label = f"{feeds:,} sources"
    ours, base = summary(rates), summary(base_rates)
    rate, base_rate, base_cpu = ours["median"], base["median"], summary(base_cpus)["median"]
    goal = 2000 if feeds <= 1000 else 1000
    result.add(f"{label}: feeds refreshed/min", rate, base_rate, "feeds/min", f"≥ {goal:,}", rate >= goal)
    result.add(f"{label}: poller CPU per feed", summary(cpu)["median"], base_cpu, "ms")
    if feeds == 1000 and items == 20:
        result.add(f"{label} × {items} items: first import", import_s, None, "s", "≤ 120 s", import_s <= 120)
    else:
        result.add(f"{label} × {items} items: first import", import_s, None, "s")
    result.add(f"{label}: feeds fetched twice in the first import", twice, None, "feeds", "0", twice == 0)
    if twice:
        result.error(label, detail=f"{twice} feeds fetched more than once in the first import")
    if refreshed_new != feeds // 2 * rounds:
        result.error(label, detail=f"{refreshed_new} new articles in the refresh rounds, not {feeds // 2 * rounds}")
    result.notes.append(
        f"{label}: first import of {feeds} feeds × {items} items stored {stored} articles in {import_s:.1f} s, "
        f"{twice} feeds fetched more than once; {not_modified} answered 304 in the last refresh round; "
        f"{refreshed_new} new articles stored by the {rounds} refresh rounds; "
        f"baseline = bare httpx client, {CONCURRENCY} in flight, same conditional headers; "
        f"feeds/min over {rounds} rounds, min/max: poller {ours['min']:,.0f}/{ours['max']:,.0f}, "
        f"baseline {base['min']:,.0f}/{base['max']:,.0f}"
    )


def run() -> Result:
    sizes = [int(s) for s in os.environ.get("NEWSFLOW_BENCH_FEED_SIZES", "100,1000,10000").split(",") if s.strip()]
    items = int(os.environ.get("NEWSFLOW_BENCH_FEED_ITEMS", "20"))
    large_items = int(os.environ.get("NEWSFLOW_BENCH_FEED_ITEMS_LARGE", "5"))
    rounds = int(os.environ.get("NEWSFLOW_BENCH_FEED_ROUNDS", "5"))
    result = Result(NAME)
    for feeds in sizes:
        _one_size(feeds, items if feeds <= 1000 else large_items, rounds, result)
    return result
