"""``stream-fanout``: SSE subscribers one gateway process holds, RSS per connection, time to deliver to all.

ours       one `newsflow-gateway api` process on private Kafka topics; N SSE subscribers (raw sockets in
           this process) on /v1/stream; one article produced to Kafka per round; delivery time = from
           the produce call until the last subscriber has read the event
baseline   a bare asyncio server (a child process) holding N sockets with the same response head, writing
           the same event bytes to every socket on a trigger; timed the same way
figures    RSS growth of the server process per connection; p50/p99/max delivery per round (5 rounds)
knobs      NEWSFLOW_BENCH_SUBSCRIBERS (default 5000); RLIMIT_NOFILE is raised to its hard limit
"""

import asyncio
import os
import resource
import secrets
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from bench.common import Result, summary
from newsflow_contracts import ARTICLES, COMMENTS, ArticleData, EventType, TopicSpec, new_event
from newsflow_kit.kafka import ensure_topics
from newsflow_kit.settings import KafkaSettings
from newsflow_kit.testing import free_port

NAME = "stream-fanout"
ROUNDS = 5
CONNECT_BATCH = 500
KAFKA = os.environ.get("NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092")

BASELINE_SERVER = textwrap.dedent(
    """
    import asyncio, sys
    HEAD = b"HTTP/1.1 200 OK\\r\\ncontent-type: text/event-stream; charset=utf-8\\r\\ncache-control: no-cache\\r\\n"
    HEAD += b"transfer-encoding: chunked\\r\\n\\r\\n"
    writers = []

    def chunk(data):
        return b"%x\\r\\n" % len(data) + data + b"\\r\\n"

    async def subscriber(reader, writer):
        await reader.readuntil(b"\\r\\n\\r\\n")
        writer.write(HEAD + chunk(b"retry: 2000\\n\\n"))
        writers.append(writer)
        await reader.read()  # until the client goes

    async def trigger(reader, writer):
        while line := await reader.readline():
            frame = chunk(bytes.fromhex(line.decode().strip()))
            for w in writers:
                w.write(frame)
            writer.write(b"ok\\n")

    async def main():
        await asyncio.start_server(subscriber, "127.0.0.1", int(sys.argv[1]), backlog=4096)
        await asyncio.start_server(trigger, "127.0.0.1", int(sys.argv[2]))
        await asyncio.Event().wait()

    asyncio.run(main())
    """
)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Subscribers:
    """N raw-socket SSE clients; each counts the article events it has read."""

    def __init__(self) -> None:
        self.counts: list[int] = []
        self.arrivals: list[float] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._writers: list[asyncio.StreamWriter] = []

    async def connect(self, port: int, path: str, n: int) -> None:
        for start in range(0, n, CONNECT_BATCH):
            await asyncio.gather(*(self._one(port, path) for _ in range(min(CONNECT_BATCH, n - start))))

    async def _one(self, port: int, path: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert b" 200 " in head.split(b"\r\n", 1)[0], head[:200]
        index = len(self.counts)
        self.counts.append(0)
        self.arrivals.append(0.0)
        self._writers.append(writer)
        self._tasks.append(asyncio.create_task(self._read(index, reader)))

    async def _read(self, index: int, reader: asyncio.StreamReader) -> None:
        while data := await reader.read(1 << 16):
            found = data.count(b"event: article")
            if found:
                self.counts[index] += found
                self.arrivals[index] = time.perf_counter()

    async def wait_all(self, expected: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while min(self.counts) < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {sum(c >= expected for c in self.counts)} of {len(self.counts)} got it")
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        for writer in self._writers:
            writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _article(n: int) -> ArticleData:
    now = datetime.now(UTC)
    return ArticleData(
        id=f"bench-{n}", version=1, seq=10_000 + n, source_id="bench", source_name="Bench",
        url=f"https://b.example/{n}", canonical_url=f"https://b.example/{n}",
        title="A headline of about eighty characters for the stream fan-out bench",
        summary="A summary sentence of ordinary length, as feeds carry. " * 4, tags=["bench", "stream"],
        published_at=now, updated_at=now,
    )  # fmt: skip


async def _measure_gateway(n: int, kafka: KafkaSettings) -> tuple[float, list[float]]:
    port = free_port()
    env = {
        **os.environ,
        "NEWSFLOW_PORT": str(port),
        "NEWSFLOW_KAFKA__ARTICLES_TOPIC": kafka.articles_topic,
        "NEWSFLOW_KAFKA__COMMENTS_TOPIC": kafka.comments_topic,
        "NEWSFLOW_MONGO__DATABASE": f"bench_fanout_{os.getpid()}",
        "NEWSFLOW_LIMITS__ANONYMOUS_BURST": str(n * 2),
        "NEWSFLOW_LOG_LEVEL": "WARNING",
    }
    exe = Path(sys.executable).parent / "newsflow-gateway"
    proc = subprocess.Popen([str(exe), "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subs = Subscribers()
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers, "linger.ms": 0})
    try:
        await _wait_ready(f"http://127.0.0.1:{port}/readyz")
        rss_before = _rss_kb(proc.pid)
        await subs.connect(port, "/v1/stream?tag=bench", n)
        await asyncio.sleep(1)
        rss_after = _rss_kb(proc.pid)
        delays = []
        for r in range(1, ROUNDS + 1):
            event = new_event(EventType.ARTICLE_PUBLISHED, _article(r), producer="bench")
            started = time.perf_counter()
            producer.produce(kafka.articles_topic, key=event.data.id, value=event.model_dump_json().encode())
            producer.flush(10)
            await subs.wait_all(r)
            delays.append((max(subs.arrivals) - started) * 1000)
        return (rss_after - rss_before) / n, delays
    finally:
        await subs.close()
        proc.terminate()
        proc.wait(20)


async def _measure_baseline(n: int) -> tuple[float, list[float]]:
    port, control = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, "-c", BASELINE_SERVER, str(port), str(control)])
    subs = Subscribers()
    try:
        await asyncio.sleep(0.5)
        rss_before = _rss_kb(proc.pid)
        await subs.connect(port, "/v1/stream?tag=bench", n)
        await asyncio.sleep(1)
        rss_after = _rss_kb(proc.pid)
        reader, writer = await asyncio.open_connection("127.0.0.1", control)
        delays = []
        for r in range(1, ROUNDS + 1):
            from newsflow_gateway.streams.events import ArticleEvent  # the very same bytes the gateway sends

            frame = ArticleEvent("article.published", _article(r)).sse
            started = time.perf_counter()
            writer.write(frame.hex().encode() + b"\n")
            await reader.readline()
            await subs.wait_all(r)
            delays.append((max(subs.arrivals) - started) * 1000)
        writer.close()
        return (rss_after - rss_before) / n, delays
    finally:
        await subs.close()
        proc.terminate()
        proc.wait(20)


async def _wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url, timeout=2)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} not ready within {timeout}s")


def run() -> Result:
    n = int(os.environ.get("NEWSFLOW_BENCH_SUBSCRIBERS", "5000"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    if n + 200 > hard:
        raise RuntimeError(f"{n} subscribers need more file descriptors than the hard limit {hard}")
    suffix = secrets.token_hex(4)
    kafka = KafkaSettings(
        bootstrap_servers=KAFKA, articles_topic=f"bench-articles-{suffix}", comments_topic=f"bench-comments-{suffix}"
    )
    specs = [TopicSpec(kafka.articles_topic, ARTICLES.partitions), TopicSpec(kafka.comments_topic, COMMENTS.partitions)]
    ensure_topics(kafka, specs)
    try:
        ours_rss, ours = asyncio.run(_measure_gateway(n, kafka))
        base_rss, base = asyncio.run(_measure_baseline(n))
    finally:
        AdminClient({"bootstrap.servers": KAFKA}).delete_topics([s.name for s in specs])
    o, b = summary(ours), summary(base)
    result = Result(NAME)
    result.add("subscribers held", n, n, "conns", "≥ 5,000")
    result.add("RSS per connection", ours_rss, base_rss, "KB", "≤ 40 KB")
    result.add("deliver one article to all: median", o["median"], b["median"], "ms")
    result.add("deliver one article to all: p99 (max)", o["p99"], b["p99"], "ms", "≤ 500 ms")
    result.notes.append(
        f"{ROUNDS} rounds; ours min/max {o['min']:.0f}/{o['max']:.0f} ms, baseline {b['min']:.0f}/{b['max']:.0f} ms; "
        "ours includes the Kafka hop (produce → broker → gateway consumer)"
    )
    result.notes.append(f"RLIMIT_NOFILE raised from {soft} to {hard}; clients share this machine's 2 cores")
    return result
