"""Issue 9.3: concurrent pushes (changes of many articles, on many partitions, from many connections)
while an SSE client disconnects and resumes with Last-Event-ID: it receives every change exactly
once, in cursor order."""

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from .test_streams import _connections, _subscribed

ARTICLES = 40


async def _read(
    url: str, params: dict[str, str], headers: dict[str, str], until: Callable[[list[int]], bool]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with (
        httpx.AsyncClient(timeout=120) as client,
        aconnect_sse(client, "GET", f"{url}/v1/stream", params=params, headers=headers) as source,
    ):
        async for sse in source.aiter_sse():
            if sse.data and sse.id:
                out.append({"seq": int(sse.id), "event": sse.event, "data": json.loads(sse.data)})
                if until([e["seq"] for e in out]):
                    return out
    return out


async def test_concurrent_pushes_reach_a_resuming_client_once_and_in_order(
    platform: Any, new_publisher: Callable[[], Any], article: Callable[..., dict[str, Any]], word: str
) -> None:
    mine = new_publisher()
    url, params = platform.url, {"source": mine.source_id}

    def push(n: int) -> list[tuple[str, int]]:
        with platform.client(mine.key) as pub:
            first = pub.post("/v1/articles", json=article(word, n))
            edit = pub.post("/v1/articles", json={**article(word, n), "body": f"{word} edited story {n}."})
        assert first.status_code == 201 and edit.status_code == 200, (first.text, edit.text)
        return [(first.json()["id"], 1), (edit.json()["id"], edit.json()["version"])]

    def push_all() -> set[tuple[str, int]]:
        with ThreadPoolExecutor(8) as pool:  # concurrent writers: commits and Kafka partitions interleave
            return {change for changes in pool.map(push, range(ARTICLES)) for change in changes}

    already = _connections(url)
    first_part = asyncio.create_task(_read(url, params, {}, lambda seqs: len(seqs) >= 15))
    await _subscribed(url, int(already) + 1)
    pushing = asyncio.create_task(asyncio.to_thread(push_all))
    before = await asyncio.wait_for(first_part, 120)  # disconnects mid-stream, pushes still running
    last_id = str(before[-1]["seq"])
    expected_count = 2 * ARTICLES
    after = await asyncio.wait_for(
        _read(url, params, {"Last-Event-ID": last_id}, lambda seqs: len(before) + len(seqs) >= expected_count), 180
    )
    expected = await asyncio.wait_for(pushing, 180)

    received = before + after
    seqs = [e["seq"] for e in received]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)  # cursor order, nothing twice
    assert {(e["data"]["id"], e["data"]["version"]) for e in received} == expected  # nothing missed
    assert {e["event"] for e in received} == {"article.published", "article.updated"}
