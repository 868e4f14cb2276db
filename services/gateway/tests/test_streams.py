"""Live streams of a real gateway process fed from real Kafka topics (SSE and WebSocket clients)."""

import asyncio
import json
import secrets
import socket
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import websockets
from confluent_kafka import Producer
from httpx_sse import aconnect_sse

from newsflow_contracts import ArticleData, CommentData, CommentStatus, EventType, new_event
from newsflow_kit.settings import KafkaSettings, MongoSettings
from newsflow_kit.testing import ServiceProcess, eventually, settings_env

NOW = datetime.now(UTC)


def article(
    n: int, *, source: str = "s1", tags: tuple[str, ...] = (), title: str = "", summary: str = ""
) -> ArticleData:
    return ArticleData(
        id=f"a{n}", version=1, seq=1000 + n, source_id=source, url=f"https://e.org/{n}",
        canonical_url=f"https://e.org/{n}", title=title or f"Story {n}", summary=summary, tags=list(tags),
        published_at=NOW, updated_at=NOW,
    )  # fmt: skip


def publish(kafka: KafkaSettings, topic: str, events: list[Any]) -> None:
    """Sends to one partition, so the order the test expects is the order Kafka keeps."""
    producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})
    for event in events:
        producer.produce(topic, key=event.data.id, value=event.model_dump_json().encode(), partition=0)
    assert producer.flush(10) == 0


ADMIN_KEY = "streams-admin-" + secrets.token_hex(8)
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}  # the gateway's /metrics needs an admin key


def published(data: ArticleData) -> Any:
    return new_event(EventType.ARTICLE_PUBLISHED, data, producer="test")


@pytest.fixture
def gateway(
    service_process: Callable[..., ServiceProcess], kafka_topics: KafkaSettings, mongo_database: MongoSettings
) -> ServiceProcess:
    env = settings_env(kafka=kafka_topics, mongo=mongo_database) | {
        "NEWSFLOW_STREAMS__QUEUE_SIZE": "16",
        "NEWSFLOW_LIMITS__ANONYMOUS_BURST": "1000",
        "NEWSFLOW_ADMIN_KEY": ADMIN_KEY,
    }
    return service_process("newsflow-gateway", "api", env=env)


async def collect_sse(url: str, params: dict[str, str], until: int, into: list[dict[str, Any]]) -> None:
    async with httpx.AsyncClient(timeout=30) as client, aconnect_sse(client, "GET", url, params=params) as source:
        async for sse in source.aiter_sse():
            if not sse.data:
                continue  # the opening "retry:" field
            into.append({**json.loads(sse.data), "event": sse.event, "sse_id": sse.id})
            if len(into) >= until:
                return


async def test_filters_deliver_exactly_the_matching_articles(
    gateway: ServiceProcess, kafka_topics: KafkaSettings
) -> None:
    by_tag: list[dict[str, Any]] = []
    by_query: list[dict[str, Any]] = []
    url = f"{gateway.url}/v1/stream"
    tasks = [
        asyncio.create_task(collect_sse(url, {"tag": "energy"}, 3, by_tag)),
        asyncio.create_task(collect_sse(url, {"q": "climate -football", "source": "s1"}, 2, by_query)),
    ]
    async with websockets.connect(gateway.url.replace("http", "ws") + "/v1/ws") as ws:
        await ws.send(json.dumps({"type": "subscribe", "id": "s2", "filter": {"source": "s2"}}))
        assert json.loads(await ws.recv()) == {"type": "subscribed", "subscription": "s2"}
        await asyncio.to_thread(eventually, lambda: _connections(gateway) >= 3)
        events = [
            article(1, tags=("energy",), title="Climate summit"),
            article(2, title="Climate football cup"),
            article(3, source="s2", tags=("energy",)),
            article(4, title="Nothing to see"),
            article(5, tags=("Energy",), title="Heat pumps and the climate"),
        ]
        await asyncio.to_thread(publish, kafka_topics, kafka_topics.articles_topic, [published(a) for a in events])
        await asyncio.wait_for(asyncio.gather(*tasks), 20)
        message = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert message["subscription"] == "s2" and message["data"]["id"] == "a3" and message["id"] == "1003"
        await ws.send(json.dumps({"type": "unsubscribe", "id": "s2"}))
        assert json.loads(await ws.recv()) == {"type": "unsubscribed", "subscription": "s2"}
    assert [e["sse_id"] for e in by_tag] == ["1001", "1003", "1005"]
    assert {e["event"] for e in by_tag} == {"article.published"}
    assert [e["sse_id"] for e in by_query] == ["1001", "1005"]
    assert "body_html" not in by_tag[0]


def _connections(gateway: ServiceProcess) -> float:
    for line in httpx.get(f"{gateway.url}/metrics", headers=ADMIN).text.splitlines():
        if line.startswith("newsflow_gateway_stream_connections "):
            return float(line.split()[1])
    return 0.0


def _cut_off(gateway: ServiceProcess) -> float:
    for line in httpx.get(f"{gateway.url}/metrics", headers=ADMIN).text.splitlines():
        if line.startswith("newsflow_gateway_stream_cut_off_total "):
            return float(line.split()[1])
    return 0.0


async def test_a_stalled_client_is_cut_off_while_others_keep_up(
    gateway: ServiceProcess, kafka_topics: KafkaSettings, request: pytest.FixtureRequest
) -> None:
    stalled = socket.socket()
    request.addfinalizer(stalled.close)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", gateway.port or 0))
    stalled.sendall(b"GET /v1/stream HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n")
    healthy: list[dict[str, Any]] = []
    count = 400
    reader = asyncio.create_task(collect_sse(f"{gateway.url}/v1/stream", {}, count, healthy))
    await asyncio.to_thread(eventually, lambda: _connections(gateway) >= 2)
    big = "x" * 20_000  # a fat summary fills the stalled socket's buffers sooner
    events = [published(article(n, summary=big)) for n in range(count)]
    await asyncio.to_thread(publish, kafka_topics, kafka_topics.articles_topic, events)
    await asyncio.wait_for(reader, 30)
    assert [int(e["sse_id"]) for e in healthy] == [1000 + n for n in range(count)]
    assert await asyncio.to_thread(eventually, lambda: _cut_off(gateway) >= 1)
    stalled.settimeout(10)
    received = b""
    while b"event: overflow" not in received:
        chunk = await asyncio.to_thread(stalled.recv, 1 << 16)
        assert chunk, "stream ended without an overflow event"
        received += chunk
    stalled.close()
    tail = received[received.index(b"event: overflow") :].split(b"\n")[1].decode()
    assert json.loads(tail.removeprefix("data: "))["resume_from"] is not None


async def test_comment_stream_of_one_article(gateway: ServiceProcess, kafka_topics: KafkaSettings) -> None:
    got: list[dict[str, Any]] = []
    reader = asyncio.create_task(collect_sse(f"{gateway.url}/v1/articles/a1/comments/stream", {}, 2, got))
    await asyncio.to_thread(eventually, lambda: _connections(gateway) >= 1)

    def comment(article_id: str, status: CommentStatus) -> Any:
        data = CommentData(id=uuid.uuid4().hex, article_id=article_id, depth=0, author_name="Ann", body="hello there",
                           status=status, version=1, created_at=NOW, updated_at=NOW)  # fmt: skip
        return new_event(EventType.COMMENT_POSTED, data, producer="test")

    events = [
        comment("a2", CommentStatus.VISIBLE),
        comment("a1", CommentStatus.VISIBLE),
        comment("a1", CommentStatus.PENDING),
    ]
    await asyncio.to_thread(publish, kafka_topics, kafka_topics.comments_topic, events)
    await asyncio.wait_for(reader, 20)
    assert [(c["article_id"], c["status"], c.get("body")) for c in got] == [
        ("a1", "visible", "hello there"),
        ("a1", "pending", None),
    ]


async def test_a_bad_resume_cursor_is_refused(gateway: ServiceProcess) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"{gateway.url}/v1/stream", headers={"Last-Event-ID": "abc"})
    assert answer.status_code == 422


async def test_a_subscriber_that_leaves_is_released_and_the_others_still_receive(
    gateway: ServiceProcess, kafka_topics: KafkaSettings
) -> None:
    leaving = socket.create_connection(("127.0.0.1", gateway.port or 0), timeout=10)
    leaving.sendall(b"GET /v1/stream HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n")
    staying: list[dict[str, Any]] = []
    reader = asyncio.create_task(collect_sse(f"{gateway.url}/v1/stream", {}, 2, staying))
    await asyncio.to_thread(eventually, lambda: _connections(gateway) >= 2)
    await asyncio.to_thread(publish, kafka_topics, kafka_topics.articles_topic, [published(article(1))])
    received = b""
    while b"id: 1001" not in received:
        received += await asyncio.to_thread(leaving.recv, 4096)
    leaving.close()  # nothing reads the stream's receive(): the server's protocol reports the close
    await asyncio.to_thread(eventually, lambda: _connections(gateway) == 1)
    await asyncio.to_thread(publish, kafka_topics, kafka_topics.articles_topic, [published(article(2))])
    await asyncio.wait_for(reader, 20)
    assert [e["sse_id"] for e in staying] == ["1001", "1002"]
