"""The feed corpus (``tests/feeds``): what is stored from each of its files.

In-process and fast: each file is parsed with its HTTP ``Content-Type`` and URL, every item is made
into the article the poller writes (``Poller._article``) and normalised as the store gets it
(``build_fields``). ``test_poller_corpus.py`` sends a sample of the files through the real poller.
"""

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from newsflow_ingest.domain.feeds import parse_feed
from newsflow_ingest.poller import Poller
from newsflow_ingest.records import ArticleFields, Source
from newsflow_ingest.service import build_fields

HERE = Path(__file__).parent / "feeds"
MANIFEST: list[dict[str, Any]] = json.loads((HERE / "manifest.json").read_text())
NOW = datetime(2026, 11, 29, tzinfo=UTC)
SOURCE = Source(id="corpus", name="corpus", language="en")
ACTIVE = re.compile(r"<script|<iframe|<style|<object|<embed|<form|<svg|\son\w+\s*=|javascript:|data:text", re.I)
TAG = re.compile(r"<[a-zA-Z/!]")


def stored(entry: dict[str, Any]) -> tuple[Any, list[ArticleFields]]:
    data = (HERE / "corpus" / entry["file"]).read_bytes()
    feed = parse_feed(data, entry["content_type"], entry["base"], now=NOW)
    return feed, [build_fields(Poller._article(item), source=SOURCE) for item in feed.items]


def test_corpus_is_large_and_fresh() -> None:
    """The committed files are what ``generate.py`` writes (expectations and files never drift)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("feed_corpus_generate", HERE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    corpus = module.build()
    assert len(corpus.entries) >= 300
    assert corpus.entries == MANIFEST
    on_disk = {p.name: p.read_bytes() for p in (HERE / "corpus").iterdir()}
    assert on_disk == corpus.files


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_what_is_stored(entry: dict[str, Any]) -> None:
    expect = entry["expect"]
    feed, articles = stored(entry)
    assert feed.error_kind == expect["error"], feed.error
    got = [{"title": a.title, "url": a.url, "external_id": a.external_id} for a in articles]
    assert got == expect["items"]
    assert feed.skipped == expect["skipped"]
    for problem in expect["problems"]:
        assert any(problem in p for p in feed.problems), feed.problems
    if not expect["problems"] and not expect["error"]:
        assert not [p for p in feed.problems if "encoding" in p or "undecodable" in p], feed.problems
    for article in articles:
        assert not ACTIVE.search(article.body_html), article.body_html
        for text in (article.title, article.summary, *article.authors):
            assert not TAG.search(text), text  # plain text never carries markup
