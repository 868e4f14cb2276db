"""The summarizer role's pass on the real Elasticsearch with the real model: what it selects, the
version guard of its writes, and that a refused or superseded version is not retried forever."""

from typing import Any

import pytest
from elasticsearch import Elasticsearch

from newsflow_index.embedder import embed_articles, write_versioned
from newsflow_index.embedding import E5Embedder
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


def test_a_pass_digests_embedded_articles_newest_first_and_never_a_superseded_version(
    es_alias: ElasticsearchSettings, es: Elasticsearch, helpers: Any, model: E5Embedder
) -> None:
    alias = es_alias.alias
    a1, b1, c1 = (
        helpers.article(i, seq=seq, title=f"Flood story {i}", body_text=BODY) for seq, i in enumerate("abc", 1)
    )
    helpers.index_directly(es, alias, [a1, b1, c1])
    assert write_versioned(es, alias, embed_articles(model, [a1, b1])) == 2  # c has no vector yet
    es.indices.refresh(index=alias)
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
    b = es.get(index=alias, id="b")["_source"]
    assert b["version"] == 2 and "ai_summary" not in b and "embedding_model" not in b  # v1's digest lost the race
    es.indices.refresh(index=alias)

    assert summarizer.run_once() == 1  # a; b v2 waits for its vector, c too
    assert summarizer.run_once() == 0
    a = es.get(index=alias, id="a")["_source"]
    assert a["digest_model"] == model.name and a["embedding_model"] == model.name and a["version"] == 1
    assert a["ai_summary"].startswith("The river burst") and 1 <= len(a["ai_key_points"]) <= 3
    assert a["title"]["en"] == "Flood story a"
    stored = es.search(index=alias, query={"ids": {"values": ["a"]}}, fields=["embedding"])["hits"]["hits"][0]
    assert len(stored["fields"]["embedding"]) == 384  # written back whole: the vector is still there
