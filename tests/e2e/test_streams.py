"""Streams through real gateway processes: resume without gap or repeat, and every replica delivers."""

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from newsflow_kit.testing import eventually


async def read_events(
    url: str, *, count: int, params: dict[str, str], headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """The first ``count`` article events of a stream (SSE id, name and data)."""
    out: list[dict[str, Any]] = []
    async with (
        httpx.AsyncClient(timeout=60) as client,
        aconnect_sse(client, "GET", f"{url}/v1/stream", params=params, headers=headers or {}) as source,
    ):
        async for sse in source.aiter_sse():
            if sse.data:
                out.append({"id": sse.id, "event": sse.event, "data": json.loads(sse.data)})
            if len(out) >= count:
                return out
    return out


def _connections(url: str, admin_key: str) -> float:
    """Open stream connections, from the gateway's /metrics (which needs an admin key)."""
    metrics = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {admin_key}"})
    for line in metrics.text.splitlines():
        if line.startswith("newsflow_gateway_stream_connections "):
            return float(line.split()[1])
    return 0.0


async def _subscribed(url: str, admin_key: str, at_least: int) -> None:
    await asyncio.to_thread(eventually, lambda: _connections(url, admin_key) >= at_least, timeout=10)


async def test_resume_replays_exactly_the_missed_matching_then_goes_live(
    platform: Any, new_publisher: Callable[[], Any], article: Callable[..., dict[str, Any]], word: str
) -> None:
    mine, other = new_publisher(), new_publisher()
    url = platform.url
    params = {"source": mine.source_id}
    first = asyncio.create_task(read_events(url, count=1, params=params))
    await _subscribed(url, platform.admin_key, 1)
    with platform.client(mine.key) as pub:
        assert pub.post("/v1/articles", json=article(word, 0)).status_code == 201
    [seen] = await asyncio.wait_for(first, 30)
    assert seen["event"] == "article.published"

    # Disconnected: 50 more, half of them from another source.
    with platform.client(mine.key) as pub, platform.client(other.key) as pub2:
        for n in range(1, 51):
            client = pub if n % 2 else pub2
            assert client.post("/v1/articles", json=article(word, n)).status_code == 201

    resumed = asyncio.create_task(read_events(url, count=26, params=params, headers={"Last-Event-ID": seen["id"]}))
    missed_titles = [f"{word} story number {n}" for n in range(1, 51, 2)]

    async def publish_live() -> None:
        # Once the replay is through, one more article must arrive live.
        await asyncio.to_thread(eventually, lambda: _connections(url, platform.admin_key) >= 1, timeout=10)
        with platform.client(mine.key) as pub:
            assert pub.post("/v1/articles", json=article(word, 99)).status_code == 201

    await publish_live()
    events = await asyncio.wait_for(resumed, 60)
    titles = [e["data"]["title"] for e in events]
    assert titles == [*missed_titles, f"{word} story number 99"]
    ids = [int(e["id"]) for e in events]
    assert ids[:25] == sorted(ids[:25]) and len(set(ids)) == 26 and ids[0] > int(seen["id"])


async def test_every_replica_delivers_every_event(
    platform: Any, new_publisher: Callable[[], Any], article: Callable[..., dict[str, Any]], word: str
) -> None:
    publisher = new_publisher()
    params = {"source": publisher.source_id}
    readers = [asyncio.create_task(read_events(g.url, count=5, params=params)) for g in platform.gateways]
    for gateway in platform.gateways:
        await _subscribed(gateway.url, platform.admin_key, 1)
    with platform.client(publisher.key) as pub:
        items = [article(word, n) for n in range(5)]
        assert pub.post("/v1/articles:batch", json={"items": items}).status_code == 200
    results = await asyncio.wait_for(asyncio.gather(*readers), 30)
    expected = {f"{word} story number {n}" for n in range(5)}
    for events in results:
        assert {e["data"]["title"] for e in events} == expected
