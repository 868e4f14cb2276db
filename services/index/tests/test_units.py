"""Pure logic: cursors, write ordering, trending score, error classification, index bootstrap."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, ConnectionTimeout, HttpHeaders, NodeConfig
from elasticsearch import ApiError, Elasticsearch
from fastapi.testclient import TestClient

from newsflow_index import cursor
from newsflow_index.bulk import TransientBulkError, is_transient
from newsflow_index.embedder import Stored, latest_events, needs_embedding
from newsflow_index.indices import alias_indices, digests_alias, ensure_alias, vectors_alias
from newsflow_index.main import create_app
from newsflow_index.mapping import MAPPING_VERSION
from newsflow_index.results import rising_tags
from newsflow_index.service import parse_window
from newsflow_index.settings import IndexingSettings, Settings
from newsflow_index.writes import Write, latest_per_article
from newsflow_kit.errors import InvalidInput
from newsflow_kit.settings import ElasticsearchSettings, KafkaSettings


def test_cursor_round_trip_and_tampering() -> None:
    token = cursor.encode(cursor.Cursor("latest", "abc", ["2024-01-01", "id-1"], 1700000000000))
    assert cursor.decode(token, kind="latest", fingerprint="abc", length=2).after == ["2024-01-01", "id-1"]
    for bad in (token[:-3], token + "!!", "x" * 3000, cursor.encode(cursor.Cursor("latest", "abc", [True, 1], 1))):
        with pytest.raises(InvalidInput):
            cursor.decode(bad, kind="latest", fingerprint="abc", length=2)
    with pytest.raises(InvalidInput):
        cursor.decode(token, kind="latest", fingerprint="other", length=2)


def test_the_newest_write_of_an_article_wins_and_retraction_wins_a_tie() -> None:
    def w(version: int, retracted: bool = False) -> tuple[Any, Write]:
        return (object(), Write("a", version, retracted, {}))

    assert latest_per_article([w(2), w(1)])[0][1].version == 2
    assert latest_per_article([w(2, True), w(2)])[0][1].retracted
    assert latest_per_article([w(2), w(2, True)])[0][1].retracted


def test_rising_tags_rank_by_rise_not_by_volume() -> None:
    def bucket(tag: str, current: int, previous: int) -> dict[str, Any]:
        return {"key": tag, "doc_count": current + previous, "current": {"doc_count": current}}

    tags = rising_tags([bucket("big", 320, 300), bucket("new", 12, 3), bucket("flat", 5, 5)], size=10)
    assert [t.tag for t in tags] == ["new", "big"]


def test_windows() -> None:
    assert parse_window("24h").total_seconds() == 86400
    assert parse_window("7d").days == 7
    for bad in ("0h", "24", "31d", "1w", "-1h"):
        with pytest.raises(InvalidInput):
            parse_window(bad)


def test_transient_errors() -> None:
    meta = ApiResponseMeta(503, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
    assert is_transient(ApiError("unavailable", meta, {}))
    assert is_transient(ConnectionTimeout("timed out"))
    assert is_transient(TransientBulkError("429"))
    assert not is_transient(ApiError("bad", ApiResponseMeta(400, "1.1", HttpHeaders(), 0.0, meta.node), {}))
    assert not is_transient(ValueError("bug"))


def test_the_embedder_skips_what_either_index_holds_as_new_and_only_the_vectors_index_says_done(
    helpers: Any,
) -> None:
    v2 = helpers.article("a", version=2)
    live, gone = Stored(2, "published", None), Stored(2, "retracted", None)
    assert needs_embedding(v2, None, model="m") is None
    assert needs_embedding(v2, live, model="m") is None  # the article alone says nothing about its vector
    assert needs_embedding(v2, Stored(3, "published", None), model="m") == "superseded"
    assert needs_embedding(v2, gone, model="m") == "retracted"
    assert needs_embedding(v2, live, model="m", vector=gone) == "retracted"  # a side tombstone
    assert needs_embedding(v2, live, model="m", vector=Stored(2, "published", "m")) == "done"
    assert needs_embedding(v2, live, model="m", vector=Stored(2, "published", "other")) is None  # a new model
    assert needs_embedding(v2, live, model="m", vector=Stored(1, "published", "m")) is None
    latest = latest_events([(v2, False), (helpers.article("a", version=2), True), (helpers.article("b"), False)])
    assert latest["a"][1] and not latest["b"][1]  # a retraction wins over its own version


def test_side_aliases_derive_from_the_articles_alias() -> None:
    assert (vectors_alias("test-x"), digests_alias("test-x")) == ("test-x-vectors", "test-x-digests")


def test_alias_bootstrap_is_idempotent_under_concurrency(es_alias: ElasticsearchSettings, es: Elasticsearch) -> None:
    with ThreadPoolExecutor(4) as pool:
        names = set(pool.map(lambda _: ensure_alias(es, es_alias.alias, IndexingSettings()), range(4)))
    assert len(names) == 1 and alias_indices(es, es_alias.alias) == sorted(names)
    for side in (vectors_alias(es_alias.alias), digests_alias(es_alias.alias)):  # created with it, once each
        assert alias_indices(es, side) == [f"{side}-v1-0"]


def test_api_creates_the_alias_at_start(
    es_alias: ElasticsearchSettings, kafka_settings: KafkaSettings, es: Elasticsearch
) -> None:
    with TestClient(create_app(Settings(elasticsearch=es_alias, kafka=kafka_settings))) as client:
        assert client.get("/search").json()["total"] == 0
    (index,) = alias_indices(es, es_alias.alias)
    assert es.indices.get_mapping(index=index)[index]["mappings"]["_meta"] == {"mapping_version": MAPPING_VERSION}
