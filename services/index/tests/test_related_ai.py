"""Hybrid related articles, the BM25 fallback and the AI block, through the API (real model, real ES)."""

from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
from elasticsearch import Elasticsearch

from newsflow_contracts import ArticleStatus
from newsflow_index.embedder import embed_articles, write_versioned
from newsflow_index.embedding import E5Embedder, sentences
from newsflow_index.hybrid import fuse, same_language_first
from newsflow_index.indices import vectors_alias
from newsflow_index.summaries import MAX_POINT_WORDS, digest
from newsflow_index.summarizer import Summarizer
from newsflow_kit.settings import ElasticsearchSettings, KafkaSettings
from newsflow_kit.testing import settings_env

QUAKE = "An earthquake of magnitude 6.1 struck Porto early on Tuesday, collapsing the roof of the central station."
STORY = [
    (
        "q-en-1",
        "en",
        "ledger",
        "Magnitude 6.1 earthquake strikes Porto",
        QUAKE + " Mayor Clara Moreau said 30 were hurt.",
    ),
    (
        "q-en-2",
        "en",
        "metro",
        "Porto quake: station roof collapses",
        "A 6.1 quake hit the Porto area before dawn on Tuesday and brought down the roof of the main railway station. "
        "Thirty people were injured, mayor Clara Moreau said.",
    ),
    (
        "q-ru-1",
        "ru",
        "vesti",
        "Землетрясение магнитудой 6,1 произошло в Порту",
        "Во вторник утром в Порту произошло землетрясение магнитудой 6,1, обрушилась крыша центрального вокзала. "
        "Мэр Клара Моро сообщила о 30 пострадавших.",
    ),
    (
        "other-en",
        "en",
        "post",
        "Earthquake of magnitude 5.2 hits Osaka",
        "An earthquake of magnitude 5.2 struck Osaka on Tuesday, cracking a dam above the valley. "
        "Mayor Kenji Mori said nobody was hurt.",
    ),
    (
        "vote-en",
        "en",
        "post",
        "Porto elects a new mayor",
        "Voters in Porto chose Ines Duarte as mayor on Sunday after a campaign about housing.",
    ),
]


@pytest.fixture(scope="module")
def model() -> E5Embedder:
    return E5Embedder(threads=1)


def test_hybrid_related_same_language_first_cross_language_option_and_bm25_fallback(
    kafka_topics: KafkaSettings,
    es_alias: ElasticsearchSettings,
    es: Elasticsearch,
    helpers: Any,
    model: E5Embedder,
    service_process: Callable[..., Any],
) -> None:
    alias = es_alias.alias
    articles = [
        helpers.article(i, language=lang, source_id=src, source_name=src, title=title, body_text=body)
        for i, lang, src, title, body in STORY
    ]
    helpers.index_directly(es, alias, articles)  # what the worker stores; vectors come next, as from the embedder
    embedded = [a for a in articles if a.id != "vote-en"]
    assert write_versioned(es, vectors_alias(alias), embed_articles(model, embedded)) == len(embedded)
    es.indices.refresh(index=vectors_alias(alias))
    summarizer = Summarizer(es, alias, model, batch_size=len(articles), max_sentences=8, idle_s=1)
    assert summarizer.run_once() == len(embedded)  # the summarizer role's pass: only articles with a vector
    es.indices.refresh(index=alias)
    api = service_process("newsflow-index", "api", env=settings_env(kafka=kafka_topics, es=es_alias))

    def related(article_id: str, **params: Any) -> dict[str, Any]:
        response = httpx.get(f"{api.url}/articles/{article_id}/related", params={"size": 3, **params}, timeout=30)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    same = related("q-en-1")
    ids = [i["id"] for i in same["items"]]
    assert same["method"] == "hybrid" and same["note"] is None
    assert ids[0] == "q-en-2" and all(i["language"] == "en" for i in same["items"][:2])
    cross = related("q-en-1", cross_language="true")
    assert cross["method"] == "hybrid"
    assert {"q-en-2", "q-ru-1"} <= {i["id"] for i in cross["items"][:2]}  # the Russian coverage of the same story

    fallback = related("vote-en")  # no vector: shared words only, and the answer says so
    assert fallback["method"] == "bm25" and "no embedding" in fallback["note"]
    assert httpx.get(f"{api.url}/articles/missing/related").status_code == 404

    ai = httpx.get(f"{api.url}/articles/q-en-2/ai").json()
    assert ai["status"] == "ready" and ai["summary"] and ai["model"] == model.name and ai["version"] == 1
    assert httpx.get(f"{api.url}/articles/vote-en/ai").json() == {
        "article_id": "vote-en",
        "status": "pending",
        "summary": None,
        "key_points": [],
        "model": None,
        "version": 1,
    }

    # Read-time joins: a retraction the embedder has not seen yet, and a new version without its vector.
    retracted = helpers.article("q-en-2", version=2, status=ArticleStatus.RETRACTED)
    ru = next(a for a in articles if a.id == "q-ru-1")
    ru2 = helpers.article("q-ru-1", version=2, **{k: getattr(ru, k) for k in ("language", "source_id", "title")})
    helpers.index_directly(es, alias, [retracted, ru2])
    cross = related("q-en-1", cross_language="true", size=5)
    assert cross["method"] == "hybrid" and not {"q-en-2", "q-ru-1"} & {i["id"] for i in cross["items"]}
    assert httpx.get(f"{api.url}/articles/q-en-2/ai").status_code == 404  # its digest is not shown
    fallback = related("q-ru-1")  # its vector describes v1: shared words only, and the answer says so
    assert fallback["method"] == "bm25" and "no embedding" in fallback["note"]
    assert httpx.get(f"{api.url}/articles/q-ru-1/ai").json()["status"] == "pending"


def test_summary_and_key_points_are_distinct_central_and_short(model: E5Embedder) -> None:
    body = (
        "The city council approved a new tram line to the airport on Monday. "
        "The line will cost 400 million euros and open in 2029. "
        "The city council approved a new tram line to the airport on Monday. "  # repeated in the source text
        "Opponents said the money should go to buses. "
        "Construction starts next spring near the old harbour. "
        + "The plan, which was debated for "
        + "many long " * 60
        + "hours, passed narrowly. "
        "The mayor called the vote historic."
    )
    found = sentences(body, limit=24)
    assert len(found) == len(set(found)) == 6
    block = digest(found, model.embed(found), anchor=model.embed(["City approves airport tram line"])[0])
    assert block.summary.startswith("The city council approved a new tram line")
    assert len(block.key_points) == 3 and len(set(block.key_points)) == 3
    assert all(len(p.split()) <= MAX_POINT_WORDS + 1 for p in block.key_points)
    assert not any(p in block.summary for p in block.key_points)


def test_rrf_fusion_and_language_order() -> None:
    order = fuse({"bm25": ["a", "b", "c"], "knn_same": ["b", "d"], "knn_other": ["e", "b"]})
    assert order[0] == "b"  # in every list
    assert set(order) == {"a", "b", "c", "d", "e"}
    assert same_language_first(["x", "y", "z"], {"x": "ru", "y": "en", "z": "en"}, "en") == ["y", "z", "x"]


def test_digest_of_tiny_articles() -> None:
    one = np.ones((1, 4), dtype=np.float32) / 2
    assert digest([], one[:0]).summary == ""
    block = digest(["Only one sentence."], one)
    assert block.summary == "Only one sentence." and block.key_points == []
