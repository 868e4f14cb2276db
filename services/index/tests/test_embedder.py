"""The embedder and summarizer roles with the real packaged model and the real Elasticsearch: vectors and AI
blocks in their side indices, the version guard, the article document written once per version."""

import random
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from elasticsearch import Elasticsearch

from newsflow_contracts import ArticleStatus
from newsflow_contracts.topics import ARTICLES
from newsflow_index import bootstrap, embedder
from newsflow_index.embedder import embed_articles, migrate_legacy, write_versioned
from newsflow_index.embedding import CHUNK, DIMS, MODEL_NAME, E5Embedder, calls, document_text, sentences
from newsflow_index.indices import digests_alias, ensure_alias, vectors_alias
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
    doc = es.get(index=vectors_alias(alias), id=article_id, source_includes=["embedding"])
    return np.asarray(doc["_source"]["embedding"], dtype=np.float32)


def side(es: Elasticsearch, alias: str, article_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(vectors document, digests document) of an article, None where missing."""
    found = [
        es.options(ignore_status=404).get(index=index, id=article_id, source_excludes=["embedding"])
        for index in (vectors_alias(alias), digests_alias(alias))
    ]
    vectors, digests = (doc.body["_source"] if doc.body.get("found") else None for doc in found)
    return vectors, digests


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


def test_the_engine_gives_its_scratch_back_between_calls_and_holds_little_during_one() -> None:
    """Memory stays what it is once the model is made (weights mapped in, a first call made), and
    without a fixed mmap threshold the RSS wandered ~20 MB between calls (the soak's RSS check). During
    a call the scratch is bounded too: 32 long leads in one call took 74 MB (``embedding.CALL_CHARS``)."""
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

    leads = [" ".join(rng.choices(words, k=100)) for _ in range(CHUNK)]  # ~600 characters each
    during = {"peak": _rss_mb()}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            during["peak"] = max(during["peak"], _rss_mb())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        model.embed(leads)
    finally:
        done.set()
        sampler.join()
    assert during["peak"] - settled < 16, f"RSS {settled:.0f} → {during['peak']:.0f} MB during a call"


def test_new_words_do_not_grow_the_memory_of_a_role() -> None:
    """The weights are mapped in when the model is made: a text's tokens used to read their rows of the
    token table in as they came, so each new word, name or number grew the RSS (the soak's check)."""
    rng = random.Random(5)
    letters = "abcdefghijklmnopqrstuvwxyzабвгдежзиклмнопрстуфхцчшщэюя"
    model = E5Embedder(threads=2)
    settled = _rss_mb()
    for _ in range(20):
        words = ("".join(rng.choices(letters, k=rng.randint(4, 9))) + str(rng.randint(0, 99999)) for _ in range(60))
        model.embed([" ".join(words)])
    assert _rss_mb() - settled < 4, f"RSS {settled:.0f} → {_rss_mb():.0f} MB"


def test_texts_are_cut_into_calls_by_count_and_by_length() -> None:
    texts = ["x" * n for n in (1100, 10, 500, 30, 2500, 20)]
    cut = calls(texts, most=3, chars=2000)
    assert sorted(i for call in cut for i in call) == list(range(len(texts)))  # each text once
    assert cut == [[1, 5, 3], [2], [0], [4]]  # shortest first; 2 x 1100 > 2000; a text over it goes alone
    for call in cut[:-1]:
        assert len(call) <= 3 and len(call) * max(len(texts[i]) for i in call) <= 2000


def test_embedder_and_summarizer_roles_store_vectors_then_the_ai_block(pipeline: Any, helpers: Any) -> None:
    for role in ("worker", "embedder", "summarizer"):
        pipeline.start(role)
    es, alias = pipeline.es, pipeline.alias
    a1 = helpers.article("a", **RATES_EN)
    a2 = helpers.article("a", version=2, **{**RATES_EN, "title": "Central bank raises rates again"})
    b1 = helpers.article("b", **RATES_RU)
    c1 = helpers.article("c", **FOOTBALL_EN)
    c2 = helpers.article("c", version=2, status=ArticleStatus.RETRACTED)
    pipeline.events.send([a1, b1, c1])
    pipeline.events.send([a2, c2, c1])  # the replay of c1 after its retraction must not bring it back

    def both() -> dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None]] | None:
        found = {i: side(es, alias, i) for i in "abc"}
        digested = all((found[i][1] or {}).get("digest_model") == MODEL_NAME for i in "ab")
        gone = all(doc is not None and doc["status"] == "retracted" for doc in found["c"])
        return found if digested and gone and (found["a"][1] or {}).get("version") == 2 else None

    docs = eventually(both, timeout=120)  # three processes start and load on a shared 2-core machine
    (va, da), (vb, _), (vc, dc) = docs["a"], docs["b"], docs["c"]
    assert va is not None and va["embedding_model"] == MODEL_NAME and va["version"] == 2 and va["language"] == "en"
    assert vb is not None and vb["version"] == 1 and vb["language"] == "ru"
    assert vc == dc == {"id": "c", "version": 2, "status": "retracted"}  # retraction is final in the side indices
    retracted = {"id": "c", "version": 2, "seq": 2, "status": "retracted"}
    assert es.get(index=alias, id="c")["_source"] == retracted
    article = es.get(index=alias, id="a")["_source"]
    assert article["title"]["en"] == "Central bank raises rates again"
    assert not {"embedding", "embedding_model", "digest_model", "ai_summary", "ai_key_points"} & set(article)
    a, b = vector(es, alias, "a"), vector(es, alias, "b")
    assert a.shape == (DIMS,) and float(a @ b) > 0.8
    assert da is not None and da["ai_summary"].startswith("The central bank raised")
    assert 1 <= len(da["ai_key_points"]) <= 3 and len(set(da["ai_key_points"])) == len(da["ai_key_points"])
    assert not set(da["ai_key_points"]) & set(sentences(da["ai_summary"], limit=10))


def test_the_article_document_is_written_once_per_version_and_replays_never_regress_side_documents(
    pipeline: Any, helpers: Any
) -> None:
    """The indexing path writes an article version once: the embedder and the summarizer leave its
    Elasticsearch ``_seq_no`` (every write of a document takes a new one) where the worker put it."""
    es, alias = pipeline.es, pipeline.alias
    pipeline.start("worker")
    a1 = helpers.article("a", **RATES_EN)
    a2 = helpers.article("a", version=2, **{**RATES_EN, "title": "Central bank raises rates again"})
    pipeline.events.send([a1, a2])

    def stored_v2() -> dict[str, Any] | None:
        doc: dict[str, Any] = es.get(index=alias, id="a").body
        return doc if doc["_version"] == 2 else None

    written = eventually(stored_v2)
    indexed = indexing_total(es, alias)
    for role in ("embedder", "summarizer"):
        pipeline.start(role)

    def digested() -> dict[str, Any] | None:
        vectors, digests = side(es, alias, "a")
        return digests if (digests or {}).get("version") == 2 and vectors else None

    eventually(digested, timeout=120)
    after = es.get(index=alias, id="a")
    assert (after["_version"], after["_seq_no"], after["_primary_term"]) == (
        written["_version"],
        written["_seq_no"],
        written["_primary_term"],
    )
    assert indexing_total(es, alias) == indexed  # no write into the articles index since the worker's
    before = side(es, alias, "a")

    pipeline.events.send([a1])  # a replayed older version, then markers behind it in its partition
    markers = [helpers.article(m, **FOOTBALL_EN) for m in same_partition("a", count=3)]
    pipeline.events.send(markers)
    eventually(lambda: all(side(es, alias, m.id)[0] for m in markers), timeout=60)
    assert side(es, alias, "a") == before
    assert es.get(index=alias, id="a")["_seq_no"] == written["_seq_no"]


def indexing_total(es: Elasticsearch, alias: str) -> int:
    """Index operations the articles index has taken (its primaries)."""
    stats = es.indices.stats(index=alias, metric="indexing")["_all"]["primaries"]["indexing"]
    return int(stats["index_total"])


def same_partition(key: str, *, count: int) -> list[str]:
    """Article ids the producer's default partitioner (CRC32 of the key) puts in the partition of ``key``."""
    partition = zlib.crc32(key.encode()) % ARTICLES.partitions
    ids = (f"m{n}" for n in range(10_000))
    return [i for i in ids if zlib.crc32(i.encode()) % ARTICLES.partitions == partition][:count]


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
    # The embedder's batch path: the retraction leaves tombstones, an older publish of it comes after.
    retraction = helpers.article("gone", version=3, status=ArticleStatus.RETRACTED)
    assert embedder.process(es, alias, model, [(retraction, True)], cluster=False) == 0
    old = [helpers.article("gone", version=2, **FOOTBALL_EN), helpers.article("newer", version=4, **RATES_EN)]
    assert embedder.process(es, alias, model, [(a, False) for a in old], cluster=False) == 0  # skipped: as new there
    assert write_versioned(es, vectors_alias(alias), embed_articles(model, old[:1])) == 0  # the side guard alone
    same = [helpers.article("same", version=2, **RATES_RU), helpers.article("fresh", **FOOTBALL_EN)]
    assert embedder.process(es, alias, model, [(a, False) for a in same], cluster=False) == 2
    assert embedder.process(es, alias, model, [(a, False) for a in same], cluster=False) == 0  # done: a replay
    v5 = embed_articles(model, [helpers.article("newer", version=5, **RATES_EN)])
    assert write_versioned(es, vectors_alias(alias), v5) == 1
    assert write_versioned(es, vectors_alias(alias), embed_articles(model, old[1:])) == 0  # v4 after v5
    es.indices.refresh(index=alias)
    assert side(es, alias, "gone") == ({"id": "gone", "version": 3, "status": "retracted"},) * 2
    assert side(es, alias, "newer")[0] == {k: v for k, v in v5[0].items() if k != "embedding"}
    assert es.get(index=alias, id="same")["_version"] == 2  # the article document itself untouched
    assert "embedding_model" not in es.get(index=alias, id="same")["_source"]
    assert side(es, alias, "fresh")[0]["embedding_model"] == MODEL_NAME  # type: ignore[index]


def test_a_reindex_keeps_the_side_documents_and_copies_a_pre_v4_index_into_them(
    pipeline: Any, helpers: Any, model: E5Embedder
) -> None:
    es, alias = pipeline.es, pipeline.alias
    kept = helpers.article("kept", **RATES_EN)
    pipeline.events.send([kept])  # what the reindex replays
    helpers.index_directly(es, alias, [kept])
    assert embedder.process(es, alias, model, [(kept, False)], cluster=False) == 1
    es.indices.refresh(index=vectors_alias(alias))
    assert Summarizer(es, alias, model, batch_size=8, max_sentences=8, idle_s=1).run_once() == 1
    before = side(es, alias, "kept"), vector(es, alias, "kept")

    new_index = bootstrap.reindex(Settings(kafka=pipeline.kafka, elasticsearch=pipeline.elastic))
    es.indices.refresh(index=new_index)
    assert side(es, alias, "kept") == before[0] and np.allclose(vector(es, alias, "kept"), before[1])
    assert before[0][1] is not None and before[0][1]["digest_model"] == MODEL_NAME

    # A v3 index held the vector and the AI block inside the article document.
    legacy = f"{alias}-legacy"
    es.indices.create(
        index=legacy,
        mappings={
            "properties": {
                "id": {"type": "keyword"},
                "version": {"type": "long"},
                "seq": {"type": "long"},
                "status": {"type": "keyword"},
                "language": {"type": "keyword"},
                "source_id": {"type": "keyword"},
                "published_at": {"type": "date"},
                "embedding": {"type": "dense_vector", "dims": DIMS, "similarity": "cosine"},
                "embedding_model": {"type": "keyword"},
                "digest_model": {"type": "keyword"},
                "ai_summary": {"type": "text", "index": False},
                "ai_key_points": {"type": "text", "index": False},
            }
        },
    )
    old = helpers.article("old", **FOOTBALL_EN)
    (doc,) = embed_articles(model, [old])
    es.index(index=legacy, id="old", document={**doc, "digest_model": "m", "ai_summary": "S.", "ai_key_points": ["P."]})
    es.index(index=legacy, id="kept", document={**embed_articles(model, [kept])[0], "embedding_model": "older"})
    es.indices.refresh(index=legacy)
    assert migrate_legacy(es, legacy, alias) == 1  # "kept" has its side document at that version already
    vectors, digests = side(es, alias, "old")
    assert vectors == {k: v for k, v in doc.items() if k != "embedding"}
    assert digests == {"id": "old", "version": 1, "status": "published", "digest_model": "m", "ai_summary": "S.",
                       "ai_key_points": ["P."]}  # fmt: skip
    assert np.allclose(vector(es, alias, "old"), doc["embedding"], atol=1e-5)
    assert side(es, alias, "kept") == before[0]
