"""Issue 11.1 on the feed path: a feed item cannot update or retract another source's article."""

from .conftest import FeedServer, Route
from .test_poller import ATOM, LONG, Rig, _poll, _source, rig

__all__ = ["rig"]


async def test_feed_items_never_touch_another_sources_article(rig: Rig, feed_server: FeedServer) -> None:
    wire = rig.client.post("/sources", json={"name": "wire", "kind": "push", "homepage": "https://w.example/"})
    owner = wire.json()["id"]
    pushed = {"title": "Energy story", "url": "https://n.example/atom", "body": "<p>The publisher's own text.</p>"}
    article_id = rig.client.post("/articles", json={**pushed, "source_id": owner}).json()["id"]

    feed_server.routes["/atom"] = Route(body=ATOM.format(long=LONG).encode(), etag='"v1"')
    feed = _source(rig.client, feed_server.url("/atom"))
    status = await _poll(rig, feed)
    assert status["articles_seen"] == 0 and "article-owned-by-another-source" in str(status["last_error"])

    retracted = ATOM.format(long=LONG).replace("<content", '<category term="retracted"/><content')
    feed_server.routes["/atom"] = Route(body=retracted.encode(), etag='"v2"')
    await _poll(rig, feed)

    stored = rig.client.get(f"/articles/{article_id}").json()
    assert (stored["source_id"], stored["version"], stored["status"]) == (owner, 1, "published")
    assert "own text" in stored["body_text"]
