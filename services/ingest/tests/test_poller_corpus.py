"""A sample of the feed corpus through the real poller: local feed server, FerretDB/MongoDB, Kafka.

The files are served with the manifest's ``Content-Type`` (so the HTTP charset is exercised);
what lands in the store, and the status of the feeds that cannot be used, must match the manifest.
"""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from newsflow_ingest.domain import identity
from newsflow_ingest.fetch import SafeFetcher
from newsflow_ingest.poller import Poller
from newsflow_ingest.service import Ingestor
from newsflow_ingest.settings import FetchSettings, Settings
from newsflow_ingest.store import ArticlesRepo, SourceLeases
from newsflow_kit.kafka import AsyncPublisher
from newsflow_kit.mongo import async_mongo

from .conftest import FeedServer, Route

HERE = Path(__file__).parent / "feeds"
MANIFEST: list[dict[str, Any]] = json.loads((HERE / "manifest.json").read_text())
SAMPLE = (
    "rss091-basic-0",
    "rdf-basic-1",
    "atom03-basic-0",
    "cdf-0",
    "json-1.1-0",
    "rss20-big5-header",
    "atom10-euc-kr-decl",
    "rdf-shift_jis-both",
    "rss20-gb2312-mismatch",
    "atom10-csunicode-decl",
    "rss20-koi8-r-header",
    "rss20-bom-utf-16-le-nodecl",
    "rss20-opaque-guid",
    "atom10-no-link-urn-id",
    "rss20-untitled",
    "atom10-dates",
    "rss20-undefined-entity",
    "rss20-hostile-1",
    "atom10-escaped-markup-title",
    "rss20-podcast-no-description",
    "rss20-billion-laughs",
    "html-page",
    "json-malformed",
)
ENTRIES = [e for e in MANIFEST if e["file"].split("-", 1)[1].rsplit(".", 1)[0] in SAMPLE]


@pytest.fixture
async def poller(settings: Settings, local_fetch: FetchSettings) -> AsyncIterator[Poller]:
    settings = settings.model_copy(update={"fetch": local_fetch})
    mongo = async_mongo(settings.mongo)
    publisher = AsyncPublisher(settings.kafka, client_id="test-poller-corpus")
    fetcher = SafeFetcher(local_fetch)
    db = mongo[settings.database]
    yield Poller(
        settings, SourceLeases(db), Ingestor(ArticlesRepo(db), publisher, settings.kafka.articles_topic), fetcher
    )
    await fetcher.aclose()
    await publisher.close()
    await mongo.close()


def test_the_sample_covers_every_kind() -> None:
    assert len(ENTRIES) == len(SAMPLE)


async def test_corpus_sample_through_the_poller(poller: Poller, client: TestClient, feed_server: FeedServer) -> None:
    """One file at a time (the corpus reuses URLs across files), checked right after its poll."""
    for entry in ENTRIES:
        path = "/" + entry["file"]
        body = (HERE / "corpus" / entry["file"]).read_bytes()
        feed_server.routes[path] = Route(body=body, headers={"Content-Type": entry["content_type"]})
        resp = client.post("/sources", json={"name": entry["file"], "kind": "feed", "feed_url": feed_server.url(path)})
        assert resp.status_code == 201, resp.text
        source_id = resp.json()["id"]
        batch = await poller.claim_batch(64)
        assert [s.id for s in batch] == [source_id]
        await poller.poll(batch[0])
        expect = entry["expect"]
        status = client.get(f"/sources/{source_id}/status").json()
        assert status["error_kind"] == expect["error"], (entry["file"], status)
        versions = await poller.ingestor.repo.versions.find({"source_id": source_id}).to_list()
        latest = {d["article_id"]: d for d in sorted(versions, key=lambda d: d["version"])}
        got = sorted((d["title"], d["url"], d["external_id"]) for d in latest.values())
        # Corpus feeds share URLs: an article belongs to the source that published it first (issue 11.1),
        # so another feed's item for it is skipped as owned by another source.
        elsewhere = [i for i in expect["items"] if await _owned_elsewhere(poller, source_id, i)]
        want = sorted((i["title"], i["url"], i["external_id"]) for i in expect["items"] if i not in elsewhere)
        assert got == want, entry["file"]
        assert status["items_skipped"] == sum(expect["skipped"].values()) + len(elsewhere), (entry["file"], status)
        for problem in expect["problems"]:
            assert any(problem in p for p in status["problems"]), (entry["file"], status)


async def _owned_elsewhere(poller: Any, source_id: str, item: dict[str, Any]) -> bool:
    if item["external_id"]:
        return False  # ids from (source, external id) are the source's own
    latest = await poller.ingestor.repo.latest(identity.article_id(identity.canonical_url(item["url"])))
    return latest is not None and latest.owner_id != source_id
