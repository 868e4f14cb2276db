"""OPML import and export against ingest's sources (used by the admin API and the CLI alike)."""

import asyncio
from collections import Counter
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from newsflow_gateway.backends import Backends, Service, UpstreamError
from newsflow_gateway.compat.opml import EntryResult, ExportedSource, OpmlEntry, same_feed, url_problem, write
from newsflow_kit.errors import NewsflowError

CONCURRENCY = 8


async def _sources(backends: Backends) -> list[dict[str, Any]]:
    raw = await backends.call(Service.INGEST, "GET", "/sources")
    items = raw.get("items", []) if isinstance(raw, dict) else raw
    return [s for s in items if isinstance(s, dict)]


async def import_entries(
    *, backends: Backends, entries: list[OpmlEntry], language: str, dry_run: bool = False
) -> dict[str, Any]:
    """Creates a feed source per new entry; every entry gets a result (created, exists, duplicate, ...)."""
    existing = await _sources(backends)
    by_feed = {same_feed(str(s["feed_url"])): str(s["id"]) for s in existing if s.get("feed_url")}
    names = {str(s.get("name", "")).casefold() for s in existing}
    first_seen: dict[str, int] = {}
    results: dict[int, EntryResult] = {}
    to_create: list[tuple[OpmlEntry, str]] = []
    for entry in entries:
        problem = url_problem(entry.feed_url)
        if problem is not None:
            results[entry.n] = EntryResult(entry.n, entry.title, entry.feed_url, "invalid", detail=problem)
            continue
        key = same_feed(entry.feed_url)
        if key in by_feed:
            results[entry.n] = EntryResult(
                entry.n, entry.title, entry.feed_url, "exists", by_feed[key], "a source already polls this feed"
            )
        elif key in first_seen:
            detail = f"the same feed as entry {first_seen[key]}"
            results[entry.n] = EntryResult(entry.n, entry.title, entry.feed_url, "duplicate", detail=detail)
        else:
            first_seen[key] = entry.n
            to_create.append((entry, _unique_name(entry, names)))
    limit = asyncio.Semaphore(CONCURRENCY)

    async def create(entry: OpmlEntry, name: str) -> EntryResult:
        if dry_run:
            return EntryResult(entry.n, entry.title, entry.feed_url, "planned", detail=f"would be named {name!r}")
        body: dict[str, Any] = {
            "name": name,
            "kind": "feed",
            "feed_url": entry.feed_url,
            "language": entry.language or language,
        }
        if entry.homepage and url_problem(entry.homepage) is None:
            body["homepage"] = entry.homepage
        async with limit:
            try:
                created = await backends.call(Service.INGEST, "POST", "/sources", json=body)
            except UpstreamError as exc:
                return EntryResult(entry.n, entry.title, entry.feed_url, "failed", detail=exc.detail[:300])
            except NewsflowError as exc:
                return EntryResult(entry.n, entry.title, entry.feed_url, "failed", detail=exc.detail[:300])
        return EntryResult(entry.n, entry.title, entry.feed_url, "created", str(created["id"]), f"named {name!r}")

    for result in await asyncio.gather(*(create(e, name) for e, name in to_create)):
        results[result.n] = result
    items = [asdict(results[e.n]) | {"folders": list(e.folders)} for e in entries]
    counts = Counter(item["status"] for item in items)
    return {"total": len(items), "counts": dict(counts), "items": items}


def _unique_name(entry: OpmlEntry, taken: set[str]) -> str:
    """The entry's title, else its host; made unique (source names are) with the host, then a number."""
    host = urlsplit(entry.feed_url).hostname or "feed"
    base = (entry.title or host)[:150]
    for candidate in (base, f"{base} ({host})", *(f"{base} ({host} {k})" for k in range(2, 1000))):
        if candidate.casefold() not in taken:
            taken.add(candidate.casefold())
            return candidate
    raise AssertionError("unreachable: a thousand candidate names")


async def export(*, backends: Backends) -> bytes:
    """Every source with a feed URL, as OPML 2.0."""
    return write(
        ExportedSource(
            name=str(s.get("name") or s["feed_url"]),
            feed_url=str(s["feed_url"]),
            homepage=str(s["homepage"]) if s.get("homepage") else None,
            language=str(s.get("language") or ""),
        )
        for s in await _sources(backends)
        if s.get("feed_url")
    )
