"""The embedder and summarizer roles with the real packaged model and the real Elasticsearch: vectors, the
version guard, the AI block."""

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from elasticsearch import Elasticsearch

from newsflow_contracts import ArticleStatus
from newsflow_index import bootstrap
from newsflow_index.embedder import embed_articles, write_versioned
from newsflow_index.embedding import CHUNK, DIMS, MODEL_NAME, E5Embedder, document_text, sentences
from newsflow_index.indices import ensure_alias
from newsflow_index.settings import IndexingSettings, Settings
from newsflow_index.summarizer import Summarizer
from newsflow_kit.settings import ElasticsearchSettings
from newsflow_kit.testing import eventually

RATES_EN = {
    "title": "Central bank raises interest rates to curb inflation",
    "body_text": (
        "The central bank raised its benchmark interest rate by a quarter point on Tuesday. "
        "Officials cited persistent price pressure in services and housing. "
        "Markets had expected the move after a week of strong wage data. "
        "The governor said further increases were possible if inflation stayed high."
    ),
    "language": "en",
}
RATES_RU = {
    "title": "Центробанк повысил ключевую ставку, чтобы сдержать инфляцию",
    "body_text": (
        "Центральный банк во вторник повысил базовую процентную ставку на четверть пункта. "
        "Регулятор сослался на устойчивый рост цен на услуги и жильё."
    ),
    "language": "ru",
    "source_id": "vesti",
    "source_name": "Вести",
}
FOOTBALL_EN = {
    "title": "Home side wins the cup after a dramatic final",
    "body_text": "The home side scored twice in extra time to lift the trophy in front of a sold-out stadium.",
    "language": "en",
}


@pytest.fixture(scope="module")
def model() -> Iterator[E5Embedder]:
    yield E5Embedder(threads=1)


def vector(es: Elasticsearch, alias: str, article_id: str) -> np.ndarray:
    hit = es.search(index=alias, query={"ids": {"values": [article_id]}}, fields=["embedding"], _source=False)
    return np.asarray(hit["hits"]["hits"][0]["fields"]["embedding"], dtype=np.float32)


def test_the_packaged_model_is_multilingual(model: E5Embedder, helpers: Any) -> None:
    texts = [
        document_text(helpers.article(str(i), **fields)) for i, fields in enumerate([RATES_EN, RATES_RU, FOOTBALL_EN])
    ]
    en, ru, football = model.embed(texts)
    assert en.shape == (DIMS,) and abs(float(np.linalg.norm(en)) - 1) < 1e-3
    assert float(en @ ru) > float(en @ football) + 0.05  # the Russian coverage is nearer than another English story


def test_long_inputs_are_embedded_in_bounded_calls_in_order(model: E5Embedder) -> None:
    texts = [f"Story {n}: the council votes on budget line {n * 7}." for n in range(CHUNK + 5)]
    vectors = model.embed(texts)
    assert vectors.shape == (CHUNK + 5, DIMS)
    for n in (0, CHUNK - 1, CHUNK, CHUNK + 4):  # both sides of the cut match the text embedded alone
        assert float(vectors[n] @ model.embed([texts[n]])[0]) > 0.999


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_the_engine_gives_its_scratch_back_between_calls() -> None:
    """Memory stays what it is once the model is made: it faults its weights in with a first call, and
    without a fixed mmap threshold the RSS wandered ~20 MB between calls (the soak's RSS check)."""
    rng = random.Random(3)
    words = [
        "council",
        "votes",
        "budget",
        "harbour",
        "rail",
        "energy",
        "school",
        "river",
        "market",
        "storm",
        "minister",
        "said",
    ]

    def batch() -> list[str]:
        return [" ".join(rng.choices(words, k=rng.randint(5, 80))) for _ in range(rng.randint(8, CHUNK))]

    model = E5Embedder(threads=2)
    settled = _rss_mb()  # the model warmed itself up when it was made
    peak = settled
    for _ in range(12):
        model.embed(batch())
        peak = max(peak, _rss_mb())
    assert peak - settled < 8, f"RSS {settled:.0f} → {peak:.0f} MB"


def test_embedder_and_summarizer_roles_store_vectors_then_the_ai_block(pipeline: Any, helpers: Any) -> None:
    for role in ("worker", "embedder", "summarizer"):
        pipeline.start(role)
    a1 = helpers.article("a", **RATES_EN)
    a2 = helpers.article("a", version=2, **{**RATES_EN, "title": "Central bank raises rates again"})
    b1 = helpers.article("b", **RATES_RU)
    c1 = helpers.article("c", **FOOTBALL_EN)
    c2 = helpers.article("c", version=2, status=ArticleStatus.RETRACTED)
    pipeline.events.send([a1, b1, c1])
    pipeline.events.send([a2, c2, c1])  # the replay of c1 after its retraction must not bring it back

    def embedded() -> dict[str, Any]:
        pipeline.es.indices.refresh(index=pipeline.alias)
        found = pipeline.es.search(index=pipeline.alias, query={"exists": {"field": "embedding_model"}}, size=10)
        hits = found["hits"]["hits"]
        return {h["_id"]: h["_source"] for h in hits}

    def both() -> dict[str, Any] | None:
        found = embedded()
        done = {"a", "b"} <= set(found) and all(found[i].get("digest_model") == MODEL_NAME for i in ("a", "b"))
        return found if done and found["a"]["version"] == 2 else None

    docs = eventually(both, timeout=120)  # two processes start and load on a shared 2-core machine
    assert set(docs) == {"a", "b"}
    assert docs["a"]["embedding_model"] == MODEL_NAME and docs["a"]["title"]["en"] == "Central bank raises rates again"
    retracted = {"id": "c", "version": 2, "seq": 2, "status": "retracted"}
    assert pipeline.es.get(index=pipeline.alias, id="c")["_source"] == retracted
    a, b = vector(pipeline.es, pipeline.alias, "a"), vector(pipeline.es, pipeline.alias, "b")
    assert a.shape == (DIMS,) and float(a @ b) > 0.8
    ai = docs["a"]
    assert ai["ai_summary"].startswith("The central bank raised")
    assert 1 <= len(ai["ai_key_points"]) <= 3 and len(set(ai["ai_key_points"])) == len(ai["ai_key_points"])
    assert not set(ai["ai_key_points"]) & set(sentences(ai["ai_summary"], limit=10))


def test_vector_writes_never_regress_nor_resurrect(
    es_alias: ElasticsearchSettings, es: Elasticsearch, helpers: Any, model: E5Embedder
) -> None:
    alias = es_alias.alias
    ensure_alias(es, alias, IndexingSettings())
    helpers.index_directly(
        es,
        alias,
        [
            helpers.article("gone", version=3, status=ArticleStatus.RETRACTED),
            helpers.article("newer", version=5, **RATES_EN),
            helpers.article("same", version=2, **RATES_RU),
        ],
    )
    old = [helpers.article("gone", version=2, **FOOTBALL_EN), helpers.article("newer", version=4, **RATES_EN)]
    same = [helpers.article("same", version=2, **RATES_RU), helpers.article("fresh", **FOOTBALL_EN)]
    assert write_versioned(es, alias, embed_articles(model, old)) == 0
    assert write_versioned(es, alias, embed_articles(model, same)) == 2
    es.indices.refresh(index=alias)
    assert es.get(index=alias, id="gone")["_source"]["status"] == "retracted"
    assert es.get(index=alias, id="newer")["_source"]["version"] == 5
    assert "embedding_model" not in es.get(index=alias, id="newer")["_source"]
    assert es.get(index=alias, id="same")["_version"] == 2  # external versions untouched: the worker's next one wins
    assert es.get(index=alias, id="fresh")["_source"]["embedding_model"] == MODEL_NAME


def test_reindex_carries_vectors_and_ai_blocks_over(pipeline: Any, helpers: Any, model: E5Embedder) -> None:
    es, alias = pipeline.es, pipeline.alias
    kept, old = helpers.article("kept", **RATES_EN), helpers.article("changed", **FOOTBALL_EN)
    changed = helpers.article("changed", version=2, **{**FOOTBALL_EN, "title": "Cup final replay ordered"})
    pipeline.events.send([kept, old, changed])  # what the reindex replays
    helpers.index_directly(es, alias, [kept, old])  # the live index lags behind: "changed" is still v1 there
    assert write_versioned(es, alias, embed_articles(model, [kept, old])) == 2
    es.indices.refresh(index=alias)
    assert Summarizer(es, alias, model, batch_size=8, max_sentences=8, idle_s=1).run_once() == 2
    es.indices.refresh(index=alias)
    before = vector(es, alias, "kept")

    new_index = bootstrap.reindex(Settings(kafka=pipeline.kafka, elasticsearch=pipeline.elastic))
    es.indices.refresh(index=new_index)
    assert es.get(index=alias, id="kept")["_source"]["embedding_model"] == MODEL_NAME
    assert np.allclose(vector(es, alias, "kept"), before, atol=1e-5)
    assert es.get(index=alias, id="kept")["_source"]["ai_summary"]
    assert es.get(index=alias, id="kept")["_source"]["digest_model"] == MODEL_NAME
    moved = es.get(index=alias, id="changed")["_source"]
    assert moved["version"] == 2 and "embedding_model" not in moved  # v1's vector does not describe v2
