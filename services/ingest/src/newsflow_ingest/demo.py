"""``newsflow-ingest demo``: a living local site without the internet.

It serves a generated feed set (RSS, Atom, JSON Feed; English and Russian) on
``NEWSFLOW_DEMO__FEEDS_PORT``, registers those feeds and a push source through the ingest API
(idempotently, by name), and — unless ``NEWSFLOW_DEMO__PUBLISH_EVERY_S=0`` — pushes a fresh article
every ~20 s. A new item appears in each feed every five minutes; feeds answer 304 to a matching ETag.
"""

import asyncio
import hashlib
import html
import json
import logging
import time
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from newsflow_ingest.demo_content import DemoArticle, article
from newsflow_ingest.settings import Settings

log = logging.getLogger(__name__)
SLOT_S = 300
ITEMS = 8
FEEDS = {  # name: (format, language)
    "harbor-ledger": ("rss", "en"),
    "northern-wire": ("atom", "en"),
    "civic-data-review": ("json", "en"),
    "vecherny-kurier": ("rss", "ru"),
}
PUSH_SOURCE = "Newsflow Wire"


def _items(feed: str, slot: int) -> list[tuple[datetime, DemoArticle]]:
    language = FEEDS[feed][1]
    return [
        (datetime.fromtimestamp((slot - i) * SLOT_S, UTC), article(f"{feed}:{slot - i}", language))
        for i in range(ITEMS)
    ]


def _body(a: DemoArticle) -> str:
    return "".join(f"<p>{html.escape(p)}</p>" for p in a.paragraphs)


ATOM_ENTRY = (
    '<entry><id>urn:demo:{slug}</id><title>{title}</title><link href="{link}"/><updated>{updated}</updated>'
    '<author><name>{author}</name></author>{atom_tags}<content type="html">{body}</content></entry>'
)
RSS_ITEM = (
    "<item><guid>{slug}</guid><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate>"
    "{rss_tags}<description>{body}</description></item>"
)


def _fields(a: DemoArticle, base: str) -> dict[str, str]:
    """An item's escaped parts, as the Atom and RSS templates above use them."""
    tags = [html.escape(tag) for tag in a.tags]
    return {
        "slug": a.slug,
        "title": html.escape(a.title),
        "link": f"{base}/articles/{a.slug}",
        "author": html.escape(a.author),
        "body": html.escape(_body(a)),
        "atom_tags": "".join(f'<category term="{tag}"/>' for tag in tags),
        "rss_tags": "".join(f"<category>{tag}</category>" for tag in tags),
    }


def render_feed(feed: str, base: str, slot: int) -> tuple[str, str]:
    """The feed document and its content type."""
    kind, language = FEEDS[feed]
    items = _items(feed, slot)
    if kind == "json":
        doc = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": feed,
            "home_page_url": base,
            "items": [
                {
                    "id": a.slug,
                    "url": f"{base}/articles/{a.slug}",
                    "title": a.title,
                    "content_html": _body(a),
                    "tags": a.tags,
                    "authors": [{"name": a.author}],
                    "date_published": t.isoformat(),
                }
                for t, a in items
            ],
        }
        return json.dumps(doc, ensure_ascii=False), "application/feed+json"
    if kind == "atom":
        entries = "".join(ATOM_ENTRY.format(**_fields(a, base), updated=t.isoformat()) for t, a in items)
        return (
            f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{feed}</title><id>urn:demo:{feed}</id><updated>{items[0][0].isoformat()}</updated>"
            f"{entries}</feed>"
        ), "application/atom+xml"
    entries = "".join(RSS_ITEM.format(**_fields(a, base), date=format_datetime(t)) for t, a in items)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{feed}</title>'
        f"<link>{base}</link><language>{language}</language>{entries}</channel></rss>"
    ), "application/rss+xml"


def page_article(slug: str) -> DemoArticle | None:
    """The article a feed item's link points to (``<feed>-<slot>``), in its feed's language."""
    feed, _, slot = slug.rpartition("-")
    if feed not in FEEDS or not slot.isdigit():
        return None
    return article(f"{feed}:{slot}", FEEDS[feed][1])


def feed_app(base: str) -> Starlette:
    async def feed(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in FEEDS:
            return Response(status_code=404)
        slot = int(time.time() // SLOT_S)
        etag = '"' + hashlib.sha256(f"{name}:{slot}".encode()).hexdigest()[:16] + '"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        text, content_type = render_feed(name, base, slot)
        return Response(text, media_type=content_type, headers={"ETag": etag, "Cache-Control": "max-age=60"})

    async def page(request: Request) -> Response:
        slug = request.path_params["slug"]
        a = page_article(slug)
        if a is None:
            return Response(status_code=404)
        return Response(
            f'<html lang="{FEEDS[slug.rpartition("-")[0]][1]}"><head><meta charset="utf-8"></head><body>'
            f"<article><h1>{html.escape(a.title)}</h1>{_body(a)}</article></body></html>",
            media_type="text/html; charset=utf-8",
        )

    return Starlette(routes=[Route("/feeds/{name}", feed), Route("/articles/{slug}", page)])


async def register(client: httpx.AsyncClient, base: str) -> str:
    """Registers the demo feeds and the push source; returns the push source's id."""
    for name, (_kind, language) in FEEDS.items():
        body = {
            "name": name,
            "kind": "feed",
            "feed_url": f"{base}/feeds/{name}",
            "homepage": base,
            "language": language,
            "min_interval_s": 60,
            "max_interval_s": 600,
        }
        resp = await client.post("/sources", json=body)
        if resp.status_code not in (201, 409):
            resp.raise_for_status()
    resp = await client.post("/sources", json={"name": PUSH_SOURCE, "kind": "push", "homepage": base})
    if resp.status_code == 201:
        return str(resp.json()["id"])
    sources = (await client.get("/sources")).json()["items"]
    return next(str(s["id"]) for s in sources if s["name"] == PUSH_SOURCE)


async def publish_forever(client: httpx.AsyncClient, source_id: str, every_s: float) -> None:
    n = 0
    while True:
        n += 1
        language = "ru" if n % 4 == 0 else "en"
        a = article(f"wire:{time.time_ns()}", language)
        body = {
            "source_id": source_id,
            "title": a.title,
            "url": f"https://wire.newsflow.example/{a.slug}",
            "body": _body(a),
            "tags": a.tags,
            "authors": [a.author],
            "language": language,
        }
        try:
            resp = await client.post("/articles", json=body)
            log.info("demo: pushed %s (%s)", a.slug, resp.status_code)
        except httpx.HTTPError as exc:
            log.warning("demo: push failed: %s", exc)
        await asyncio.sleep(every_s)


async def serve(settings: Settings, client: httpx.AsyncClient) -> None:
    """Serves the demo feeds, registers them through ``client`` (the ingest api), then pushes forever."""
    base = f"http://127.0.0.1:{settings.demo.feeds_port}"
    server = uvicorn.Server(
        uvicorn.Config(
            feed_app(base), host="127.0.0.1", port=settings.demo.feeds_port, log_config=None, access_log=False
        )
    )
    serving = asyncio.create_task(server.serve())
    source_id = None
    for _ in range(120):  # the ingest api may still be starting
        try:
            source_id = await register(client, base)
            break
        except httpx.HTTPError:
            await asyncio.sleep(1)
    log.info("demo: feeds on %s, push source %s", base, source_id)
    tasks = [serving]
    if source_id and settings.demo.publish_every_s > 0:
        tasks.append(asyncio.create_task(publish_forever(client, source_id, settings.demo.publish_every_s)))
    await asyncio.gather(*tasks)
