"""``feed-refresh``: feeds one poller process refreshes per minute (goal ≥ 1,000 on 2 cores).

A local feed server serves NEWSFLOW_BENCH_FEEDS RSS feeds (default 100, 10 items of ~2 KB each);
half answer 304 to a repeated ETag, half always send the full feed (no validators), the realistic
mix. Round 1 ingests every item (not timed); each later round marks every source due and times
until all were fetched again. No baseline exists for this one (BENCH.md): the figure is absolute.
"""

import hashlib
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

from bench.common import Result, summary
from newsflow_contracts import ARTICLES, TopicSpec
from newsflow_ingest.demo_content import article
from newsflow_kit.kafka import admin, ensure_topics
from newsflow_kit.settings import KafkaSettings
from newsflow_kit.testing import free_port

NAME = "feed-refresh"
ROUNDS = 6


def _feed(n: int) -> bytes:
    items = []
    for i in range(10):
        a = article(f"bench-{n}:{i}")
        body = "".join(f"<p>{p}</p>" for p in a.paragraphs)
        items.append(
            f"<item><guid>b{n}-{i}</guid><title>{a.title} {n}-{i}</title>"
            f"<link>https://bench.example/{n}/{i}</link><description><![CDATA[{body}]]></description></item>"
        )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>f{n}</title>{"".join(items)}</channel></rss>'.encode()
    )


def _server(feeds: int) -> tuple[ThreadingHTTPServer, int]:
    bodies = {f"/f/{n}": _feed(n) for n in range(feeds)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = bodies.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            n = int(self.path.rsplit("/", 1)[1])
            etag = '"' + hashlib.sha256(body).hexdigest()[:12] + '"' if n % 2 == 0 else None
            if etag and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


def run() -> Result:
    feeds = int(os.environ.get("NEWSFLOW_BENCH_FEEDS", "100"))
    kafka = KafkaSettings(bootstrap_servers=os.environ.get("NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    mongo_uri = os.environ.get("NEWSFLOW_MONGO__URI", "mongodb://127.0.0.1:27017/")
    suffix = uuid.uuid4().hex[:8]
    topic, db_name = f"{ARTICLES.name}-bench-{suffix}", f"bench_feeds_{suffix}"
    ensure_topics(kafka, [TopicSpec(topic, ARTICLES.partitions, ARTICLES.config)])
    server, port = _server(feeds)
    api_port = free_port()
    env = {
        **os.environ,
        "NEWSFLOW_MONGO__DATABASE": db_name,
        "NEWSFLOW_KAFKA__ARTICLES_TOPIC": topic,
        "NEWSFLOW_FETCH__ALLOW_HOSTS": f'["127.0.0.1:{port}"]',
        "NEWSFLOW_PORT": str(api_port),
        "NEWSFLOW_LOG_LEVEL": "WARNING",
        "NEWSFLOW_POLLER__TICK_S": "0.2",
    }
    exe = str(Path(sys.executable).parent / "newsflow-ingest")
    api = subprocess.Popen([exe, "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    poller: subprocess.Popen[bytes] | None = None
    mongo: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    sources = mongo[db_name]["sources"]
    try:
        base = f"http://127.0.0.1:{api_port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        for n in range(feeds):
            httpx.post(
                f"{base}/sources",
                json={
                    "name": f"bench-{n}",
                    "kind": "feed",
                    "min_interval_s": 30,
                    "max_interval_s": 3600,
                    "feed_url": f"http://127.0.0.1:{port}/f/{n}",
                },
            ).raise_for_status()
        poller = subprocess.Popen([exe, "poller"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rates, statuses = [], []
        for round_no in range(ROUNDS):
            started_at = datetime.now(UTC)
            sources.update_many({}, {"$set": {"next_poll_at": started_at}})
            started = time.perf_counter()
            while sources.count_documents({"last_fetch_at": {"$gte": started_at}}) < feeds:
                if time.perf_counter() - started > (900 if round_no == 0 else 300):
                    sample = list(sources.find({}, {"last_status": 1, "last_error": 1, "next_poll_at": 1}).limit(2))
                    raise RuntimeError(f"feeds not refreshed in time: {sample}")
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            if round_no > 0:  # round 1 ingests every item for the first time
                rates.append(feeds / elapsed * 60)
                statuses.append(sources.count_documents({"last_status": 304}))
    finally:
        for proc in (poller, api):
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        server.shutdown()
        mongo.drop_database(db_name)
        mongo.close()
        admin(kafka).delete_topics([topic], operation_timeout=10)
    s = summary(rates)
    result = Result(NAME)
    result.add(
        f"feeds refreshed per minute (median of {len(rates)} rounds)",
        s["median"],
        None,
        "feeds/min",
        "≥ 1,000 on 2 cores",
    )
    result.notes.append(
        f"min/max {s['min']:.0f}/{s['max']:.0f}; {feeds} feeds, one poller process; "
        f"{statuses[-1]} of them answered 304 in the last round, the rest 200 with 10 items"
    )
    return result
