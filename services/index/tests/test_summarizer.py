"""The summarizer role's pass on the real Elasticsearch with the real model: what it selects, the
version guard of its writes, and that a refused or superseded version is not retried forever."""

from typing import Any

import pytest
from elasticsearch import Elasticsearch

from newsflow_index import summarizer as summarizer_module
from newsflow_index.embedder import embed_articles, write_versioned
from newsflow_index.embedding import E5Embedder
from newsflow_index.indices import digests_alias, vectors_alias
from newsflow_index.mapping import digest_document
from newsflow_index.summarizer import Summarizer
from newsflow_kit.settings import ElasticsearchSettings

BODY = (
    "The river burst its banks on Monday night after three days of rain. "
    "Two hundred homes were evacuated in the lower town. "
    "The council opened the school gym as a shelter. "
    "Forecasters expect the water to fall by Thursday."
)


@pytest.fixture(scope="module")
def model() -> E5Embedder:
    return E5Embedder(threads=1)


def digest_of(es: Elasticsearch, alias: str, article_id: str) -> dict[str, Any] | None:
    doc = es.options(ignore_status=404).get(index=digests_alias(alias), id=article_id)
    return doc.body["_source"] if doc.body.get("found") else None


def test_a_pass_digests_embedded_articles_newest_first_and_never_a_superseded_version(
    es_alias: ElasticsearchSettings, es: Elasticsearch, helpers: Any, model: E5Embedder
) -> None:
    alias = es_alias.alias
    a1, b1, c1 = (
        helpers.article(i, seq=seq, title=f"Flood story {i}", body_text=BODY) for seq, i in enumerate("abc", 1)
    )
    helpers.index_directly(es, alias, [a1, b1, c1])
    assert write_versioned(es, vectors_alias(alias), embed_articles(model, [a1, b1])) == 2  # c has no vector yet
    es.indices.refresh(index=vectors_alias(alias))
    summarizer = Summarizer(es, alias, model, batch_size=1, max_sentences=8, idle_s=1)

    hits: list[dict[str, Any]] = []
    original = es.search

    def search_then_a_new_version_lands(**kwargs: Any) -> Any:  # the worker stores b v2 mid-pass
        found = original(**kwargs)
        hits.extend(found["hits"]["hits"])
        b2 = helpers.article("b", version=2, seq=4, title="Flood update", body_text=BODY)
        helpers.index_directly(es, alias, [b2])
        return found

    es.search = search_then_a_new_version_lands  # type: ignore[method-assign]
    try:
        assert summarizer.run_once() == 1
    finally:
        es.search = original  # type: ignore[method-assign]
    assert [h["_id"] for h in hits][:1] == ["b"]  # the newest embedded article first
    assert digest_of(es, alias, "b") is None  # v1's digest is not made for an article now at v2
    assert es.get(index=alias, id="b")["_source"]["version"] == 2

    assert summarizer.run_once() == 1  # a; b v2 waits for its vector, c too
    es.indices.refresh(index=digests_alias(alias))
    assert summarizer.run_once() == 0
    a = digest_of(es, alias, "a")
    assert a is not None and a["digest_model"] == model.name and a["version"] == 1 and a["status"] == "published"
    assert a["ai_summary"].startswith("The river burst") and 1 <= len(a["ai_key_points"]) <= 3
    assert set(a) == {"id", "version", "status", "digest_model", "ai_summary", "ai_key_points"}  # a small document
    assert "digest_model" not in es.get(index=alias, id="a")["_source"]  # the article document is not written


def test_an_older_digest_never_overwrites_a_newer_one_nor_a_retraction(
    es_alias: ElasticsearchSettings, es: Elasticsearch, helpers: Any
) -> None:
    alias = es_alias.alias
    helpers.index_directly(es, alias, [helpers.article("x")])
    index = digests_alias(alias)
    newer = digest_document("x", 3, summary="Three.", key_points=[], model="m")
    assert write_versioned(es, index, [newer]) == 1
    assert write_versioned(es, index, [digest_document("x", 2, summary="Two.", key_points=[], model="m")]) == 0
    assert digest_of(es, alias, "x") == newer
    tombstone = {"id": "x", "version": 4, "status": "retracted"}
    assert write_versioned(es, index, [tombstone]) == 1  # a retraction is always a newer version (ingest bumps it)
    assert write_versioned(es, index, [newer]) == 0
    assert digest_of(es, alias, "x") == tombstone


def test_the_scan_sweeps_below_the_newest_page_and_rests_when_all_is_done(
    es_alias: ElasticsearchSettings, es: Elasticsearch, helpers: Any, model: E5Embedder, monkeypatch: Any
) -> None:
    monkeypatch.setattr(summarizer_module, "PAGE", 2)
    alias = es_alias.alias
    articles = [helpers.article(f"s{n}", seq=n, title=f"Flood story {n}", body_text=BODY) for n in range(1, 8)]
    helpers.index_directly(es, alias, articles)
    assert write_versioned(es, vectors_alias(alias), embed_articles(model, articles)) == len(articles)
    done = [digest_document(a.id, a.version, summary="S.", key_points=[], model=model.name) for a in articles]
    assert write_versioned(es, digests_alias(alias), done[2:6] + done[:1]) == 5  # s2 and s7 still need one
    es.indices.refresh(index=vectors_alias(alias))
    monkeypatch.setattr(summarizer_module, "SWEEP_PAUSE_S", 0.0)
    scan = summarizer_module.Scan(es, alias, model.name)
    assert scan.pending(skip=set(), refused=set(), size=4) == [("s7", 1)]  # the newest page first
    assert scan.pending(skip={"s7"}, refused=set(), size=4) == [("s2", 1)]  # found by the sweep below it
    assert scan.pending(skip={"s7", "s2"}, refused=set(), size=4) == []  # the sweep reached the end
    assert scan.pending(skip={"s7"}, refused=set(), size=4) == [("s2", 1)]  # a new sweep finds it again
    assert scan.pending(skip={"s7"}, refused={("s2", 1)}, size=4) == []  # refused: never asked again
    monkeypatch.setattr(summarizer_module, "SWEEP_PAUSE_S", 3600.0)
    assert scan.pending(skip={"s7"}, refused={("s2", 1)}, size=4) == []  # the end again: now it rests
    assert scan.pending(skip={"s7"}, refused=set(), size=4) == []  # resting: only the newest page is read
    assert scan.pending(skip=set(), refused=set(), size=4) == [("s7", 1)]
