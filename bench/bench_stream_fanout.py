"""``stream-fanout``: SSE subscribers one gateway process holds, RSS per connection, time to deliver to all.

ours       one `newsflow-gateway api` process on private Kafka topics; N SSE subscribers on
           /v1/stream (raw sockets, held by a client child process); one article produced to Kafka per
           round; delivery time = from the produce call until the last subscriber has read the event
replicas   two gateway processes on the same topics, N subscribers each (2N in all), timed the same way
baseline   a bare asyncio server (a child process) holding N sockets with the same response head, fed
           by a bare Kafka consumer: the same event bytes are produced to a private topic, consumed and
           written to every socket; timed the same way (so both sides include the Kafka hop)
figures    RSS growth of the server process per connection; p50/p99/max delivery over the rounds
knobs      NEWSFLOW_BENCH_SUBSCRIBERS (default 10,000), NEWSFLOW_BENCH_FANOUT_ROUNDS (default 20)
goals      ≥ 10,000 subscribers on one process at ≤ 30 KB each; delivery to all p99 ≤ 500 ms;
           two replicas hold twice as many
"""

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import resource
import secrets
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Producer

from bench.common import KAFKA_SERVERS, Result, Role, summary
from newsflow_contracts import ARTICLES, COMMENTS, ArticleData, EventType, TopicSpec, new_event
from newsflow_kit.kafka import delete_topics, ensure_topics
from newsflow_kit.settings import KafkaSettings
from newsflow_kit.testing import free_port

NAME = "stream-fanout"
CONNECT_BATCH = 500
RSS_GOAL_KB = 30.0
DELIVERY_GOAL_MS = 500.0

BASELINE_SERVER = textwrap.dedent(
    """
    import asyncio, sys, threading
    from confluent_kafka import Consumer
    HEAD = b"HTTP/1.1 200 OK\\r\\ncontent-type: text/event-stream; charset=utf-8\\r\\ncache-control: no-cache\\r\\n"
    HEAD += b"transfer-encoding: chunked\\r\\n\\r\\n"
    writers = []

    def chunk(data):
        return b"%x\\r\\n" % len(data) + data + b"\\r\\n"

    def broadcast(data):
        frame = chunk(data)
        for w in writers:
            w.write(frame)

    async def subscriber(reader, writer):
        await reader.readuntil(b"\\r\\n\\r\\n")
        writer.write(HEAD + chunk(b"retry: 2000\\n\\n"))
        writers.append(writer)
        await reader.read()  # until the client goes

    def consume(loop, servers, topic):
        consumer = Consumer({"bootstrap.servers": servers, "group.id": topic, "auto.offset.reset": "latest",
                             "fetch.wait.max.ms": 10})
        consumer.subscribe([topic])
        while True:
            message = consumer.poll(0.1)
            if message is not None and message.error() is None:
                loop.call_soon_threadsafe(broadcast, message.value())

    async def main():
        await asyncio.start_server(subscriber, "127.0.0.1", int(sys.argv[1]), backlog=4096)
        threading.Thread(target=consume, args=(asyncio.get_running_loop(), sys.argv[2], sys.argv[3]),
                         daemon=True).start()
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


def _clients(port: int, path: str, n: int, conn: multiprocessing.connection.Connection) -> None:
    """A client child process: holds ``n`` subscribers; for each round number received, answers when all
    have read that many events with the latest arrival (``time.perf_counter`` is system-wide)."""

    async def main() -> None:
        subs = Subscribers()
        try:
            await subs.connect(port, path, n)
            conn.send("ready")
            while (expected := await asyncio.to_thread(conn.recv)) is not None:
                await subs.wait_all(expected)
                conn.send(max(subs.arrivals))
        finally:
            await subs.close()

    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    asyncio.run(main())


class Fanout:
    """Servers (by pid and port) with one client child process per server; times rounds of delivery."""

    def __init__(self, servers: list[tuple[int, int]], n: int, path: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.pids = [pid for pid, _ in servers]
        self.rss_before = [_rss_kb(pid) for pid in self.pids]
        self.pipes = []
        self.children = []
        for _, port in servers:
            mine, theirs = context.Pipe()
            child = context.Process(target=_clients, args=(port, path, n, theirs), daemon=True)
            child.start()
            self.pipes.append(mine)
            self.children.append(child)
        for pipe in self.pipes:
            if not pipe.poll(600) or pipe.recv() != "ready":
                raise RuntimeError("subscribers did not connect")
        time.sleep(1)
        self.rss_per_conn = [
            (_rss_kb(pid) - before) / n for pid, before in zip(self.pids, self.rss_before, strict=True)
        ]

    def round(self, number: int, trigger: object) -> float:
        started = time.perf_counter()
        trigger()  # type: ignore[operator]
        for pipe in self.pipes:
            pipe.send(number)
        arrivals = []
        for pipe in self.pipes:
            if not pipe.poll(60):
                raise RuntimeError(f"round {number}: not every subscriber got the event within 60 s")
            arrivals.append(float(pipe.recv()))
        return (max(arrivals) - started) * 1000

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(None)
        for child in self.children:
            child.join(30)
            if child.is_alive():
                child.kill()


def _gateway_env(kafka: KafkaSettings, n: int, suffix: str) -> dict[str, str]:
    return {
        "NEWSFLOW_KAFKA__ARTICLES_TOPIC": kafka.articles_topic,
        "NEWSFLOW_KAFKA__COMMENTS_TOPIC": kafka.comments_topic,
        "NEWSFLOW_MONGO__DATABASE": f"bench_fanout_{suffix}",
        "NEWSFLOW_LIMITS__ANONYMOUS_BURST": str(n * 4),
    }


def _measure(
    kafka: KafkaSettings, n: int, rounds: int, servers: list[tuple[int, int]], topic: str, frame: object
) -> tuple[list[float], list[float]]:
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers, "linger.ms": 0})
    fanout = Fanout(servers, n, "/v1/stream?tag=bench")
    try:
        delays = []
        for r in range(1, rounds + 2):  # round 1 warms the path up (first fetch, JIT of the consumer) and is dropped

            def trigger(r: int = r) -> None:
                key, value = frame(r)  # type: ignore[operator]
                producer.produce(topic, key=key, value=value)
                producer.flush(10)

            delays.append(fanout.round(r, trigger))
        return fanout.rss_per_conn, delays[1:]
    finally:
        fanout.close()


def _event_bytes(r: int) -> tuple[bytes, bytes]:
    event = new_event(EventType.ARTICLE_PUBLISHED, _article(r), producer="bench")
    return event.data.id.encode(), event.model_dump_json().encode()


def _frame_bytes(r: int) -> tuple[bytes, bytes]:
    from newsflow_gateway.streams.events import ArticleEvent  # the very same bytes the gateway sends

    return b"baseline", ArticleEvent("article.published", _article(r)).sse


def run() -> Result:
    n = int(os.environ.get("NEWSFLOW_BENCH_SUBSCRIBERS", "10000"))
    rounds = int(os.environ.get("NEWSFLOW_BENCH_FANOUT_ROUNDS", "20"))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    if n + 200 > hard:
        raise RuntimeError(f"{n} subscribers need more file descriptors than the hard limit {hard}")
    suffix = secrets.token_hex(4)
    kafka = KafkaSettings(
        bootstrap_servers=KAFKA_SERVERS,
        articles_topic=f"bench-articles-{suffix}",
        comments_topic=f"bench-comments-{suffix}",
    )
    baseline_topic = f"bench-baseline-{suffix}"
    specs = [
        TopicSpec(kafka.articles_topic, ARTICLES.partitions),
        TopicSpec(kafka.comments_topic, COMMENTS.partitions),
        TopicSpec(baseline_topic, 1),
    ]
    ensure_topics(kafka, specs)
    env = _gateway_env(kafka, n, suffix)
    result = Result(NAME)
    try:
        one = Role.start("gateway", "api", env)
        try:
            ours_rss, ours = _measure(
                kafka, n, rounds, [(one.proc.pid, _port(one))], kafka.articles_topic, _event_bytes
            )
        finally:
            one.stop()
        replicas = [Role.start("gateway", "api", env) for _ in range(2)]
        try:
            servers = [(r.proc.pid, _port(r)) for r in replicas]
            two_rss, two = _measure(kafka, n, rounds, servers, kafka.articles_topic, _event_bytes)
        finally:
            for replica in replicas:
                replica.stop()
        port = free_port()
        base_proc = subprocess.Popen([sys.executable, "-c", BASELINE_SERVER, str(port), KAFKA_SERVERS, baseline_topic])
        try:
            time.sleep(3)  # the bare consumer joins its group
            base_rss, base = _measure(kafka, n, rounds, [(base_proc.pid, port)], baseline_topic, _frame_bytes)
        finally:
            base_proc.terminate()
            base_proc.wait(20)
    finally:
        delete_topics(KafkaSettings(bootstrap_servers=KAFKA_SERVERS), [s.name for s in specs])
    o, t, b = summary(ours), summary(two), summary(base)
    result.add("subscribers held, one process", n, n, "conns", "≥ 10,000", n >= 10_000)
    result.add(
        "RSS per connection", ours_rss[0], base_rss[0], "KB", f"≤ {RSS_GOAL_KB:.0f} KB", ours_rss[0] <= RSS_GOAL_KB
    )
    result.add("deliver one article to all: p50", o["median"], b["median"], "ms")
    result.add(
        "deliver one article to all: p99",
        o["p99"],
        b["p99"],
        "ms",
        f"≤ {DELIVERY_GOAL_MS:.0f} ms",
        o["p99"] <= DELIVERY_GOAL_MS,
    )
    result.add("two replicas: subscribers held", 2 * n, n, "conns", "2× one process", True)
    result.add(
        "two replicas: RSS per connection (worst)",
        max(two_rss),
        base_rss[0],
        "KB",
        f"≤ {RSS_GOAL_KB:.0f} KB",
        max(two_rss) <= RSS_GOAL_KB,
    )
    result.add(
        "two replicas: deliver to all 2N p99",
        t["p99"],
        b["p99"],
        "ms",
        f"≤ {DELIVERY_GOAL_MS:.0f} ms",
        t["p99"] <= DELIVERY_GOAL_MS,
    )
    result.notes.append(
        f"{rounds} rounds; one process min/max {o['min']:.0f}/{o['max']:.0f} ms, two replicas "
        f"{t['min']:.0f}/{t['max']:.0f} ms, baseline {b['min']:.0f}/{b['max']:.0f} ms; every side includes the "
        "Kafka hop (produce → broker → consumer → sockets)"
    )
    result.notes.append(f"RLIMIT_NOFILE raised from {soft} to {hard}; clients are child processes on the same 2 cores")
    return result


def _port(role: Role) -> int:
    return int(role.url.rsplit(":", 1)[1])
