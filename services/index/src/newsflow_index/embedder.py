"""``newsflow-index embedder``: consumer group ``index-embedder`` on articles.v1 → vectors and story clusters.

Its own process and consumer group, so the indexing worker never waits for the model. Per batch:

1. decode, keep the latest version of each article (a retraction wins);
2. one ``mget`` of what the articles alias and the vectors side index hold: skip articles already
   stored at a newer version, retracted at the same or a newer version, or already embedded at this
   version by this model (replays and restarts cost that one ``mget``);
3. embed title + lead of the rest in one call (one text per article: the summary and key points,
   which need every sentence embedded, are the summarizer role's, so vectors keep up with the feed);
4. one ``_bulk`` into the side indices: each vector as a small document of the vectors index
   (``<alias>-vectors``), each retraction as a tombstone in the vectors and the digests index, all
   with ``version = article version`` and ``version_type=external_gte``.

The article document itself is never written here (the worker writes each version once). The
``external_gte`` guard makes every side write idempotent and order-proof: a newer vector or a
tombstone already stored makes an older write a 409 (counted as done), and a retraction is always a
newer version in ingest, so a replayed publish can never bring a vector or a digest back.

Story clustering (clusterer.py) follows step 4 as the batch's deferred step: it runs while the next
batch is embedded, and the batch's offsets are stored once it is done.

At least once: offsets are stored after the bulk was acknowledged and the batch clustered; ES
down/overloaded → the batch is retried with back-off (``is_transient``); a failed clustering step
handles its batch again (its vectors are "done" by then, so that costs an ``mget``). Undecodable
messages are skipped (the worker dead-letters them).
"""

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from confluent_kafka import Message
from elasticsearch import Elasticsearch
from prometheus_client import Counter
from pydantic import ValidationError

from newsflow_contracts import ArticleData, ArticleStatus, Envelope, EventType
from newsflow_index import clusterer
from newsflow_index.bulk import TransientBulkError
from newsflow_index.embedding import Embedder, document_text
from newsflow_index.indices import (
    alias_indices,
    current_mapping_version,
    digests_alias,
    ensure_alias_with_retry,
    side_aliases,
    vectors_alias,
)
from newsflow_index.mapping import (
    PUBLISHED,
    RETRACTED,
    SIDE_MAPPING_VERSION,
    digest_document,
    side_tombstone,
    vector_document,
)
from newsflow_index.settings import Settings
from newsflow_kit.consumer import Deferred, Poison

log = logging.getLogger(__name__)

GROUP_ID = "index-embedder"
EMBEDDED = Counter("newsflow_index_embedded_total", "Article versions the embedder stored vectors for.")
SKIPPED = Counter("newsflow_index_embed_skipped_total", "Article versions the embedder did not embed.", ["reason"])


@dataclass(frozen=True)
class Stored:
    """What an index holds for an article: its version, status and (vectors) which model embedded it."""

    version: int
    status: str
    model: str | None


def decode_article(msg: Message) -> tuple[ArticleData, bool] | None:
    """(article, retracted) of an article event; None for anything the embedder cannot use."""
    value = msg.value()
    if not value:
        return None
    try:
        event = Envelope[ArticleData].model_validate_json(value)
    except ValidationError:
        return None
    if event.event_type not in _ARTICLE_EVENTS:
        return None
    retracted = event.event_type is EventType.ARTICLE_RETRACTED or event.data.status is ArticleStatus.RETRACTED
    return event.data, retracted


def latest_events(decoded: Iterable[tuple[ArticleData, bool]]) -> dict[str, tuple[ArticleData, bool]]:
    """The newest (article, retracted) of each article in a batch (a retraction wins over its own version)."""
    latest: dict[str, tuple[ArticleData, bool]] = {}
    for article, retracted in decoded:
        held = latest.get(article.id)
        if held is None or (article.version, retracted) >= (held[0].version, held[1]):
            latest[article.id] = (article, retracted)
    return latest


def latest_versions(decoded: Iterable[tuple[ArticleData, bool]]) -> list[ArticleData]:
    """The newest published version of each article in a batch (an article retracted in it is dropped)."""
    return [article for article, retracted in latest_events(decoded).values() if not retracted]


def needs_embedding(
    article: ArticleData, stored: Stored | None, *, model: str, vector: Stored | None = None
) -> str | None:
    """None when the article version should be embedded, else the reason to skip it.

    ``stored`` is what the articles alias holds, ``vector`` what the vectors side index holds; only
    the latter says whether this version is embedded already ("done").
    """
    for held in (stored, vector):
        if held is None:
            continue
        if held.version > article.version:
            return "superseded"
        if held.status == RETRACTED and held.version >= article.version:
            return "retracted"
    if vector is not None and vector.version == article.version and vector.model == model:
        return "done"
    return None


def stored_state(es: Elasticsearch, alias: str, ids: list[str]) -> tuple[dict[str, Stored], dict[str, Stored]]:
    """(articles alias, vectors side index) → what each holds for ``ids``, read with one ``mget``."""
    if not ids:
        return {}, {}
    docs = [{"_index": alias, "_id": i, "_source": ["version", "status"]} for i in ids]
    docs += [
        {"_index": vectors_alias(alias), "_id": i, "_source": ["version", "status", "embedding_model"]} for i in ids
    ]
    found: list[dict[str, Stored]] = [{}, {}]
    for n, doc in enumerate(es.mget(docs=docs)["docs"]):
        if doc.get("found"):
            source = doc["_source"]
            stored = Stored(int(source["version"]), str(source["status"]), source.get("embedding_model"))
            found[n // len(ids)][doc["_id"]] = stored
    return found[0], found[1]


def embed_articles(embedder: Embedder, articles: list[ArticleData]) -> list[dict[str, Any]]:
    """The vectors side documents of ``articles``, with one model call for all texts."""
    vectors = embedder.embed([document_text(a) for a in articles])
    return [
        vector_document(article, vector=[round(float(x), 6) for x in vector], model=embedder.name)
        for article, vector in zip(articles, vectors, strict=True)
    ]


def write_versioned(es: Elasticsearch, index: str, docs: list[dict[str, Any]]) -> int:
    """Stores each document at its article version unless something as new is there; returns how many won."""
    return sum(write_side(es, [(index, doc) for doc in docs]))


def write_side(
    es: Elasticsearch, writes: list[tuple[str, dict[str, Any]]], *, version_type: str = "external_gte"
) -> list[bool]:
    """One ``_bulk`` of (alias, document) pairs, each at its article version with ``external_gte`` (or
    ``external``: only a strictly newer version wins); returns which of them were stored (False:
    something as new was there, or refused). Only aliases are written (``require_alias``)."""
    if not writes:
        return []
    operations: list[dict[str, Any]] = []
    for index, doc in writes:
        operations += [
            {
                "index": {
                    "_index": index,
                    "_id": doc["id"],
                    "version": doc["version"],
                    "version_type": version_type,
                    "require_alias": True,  # never auto-create an index named like a missing alias
                }
            },
            doc,
        ]
    response = es.bulk(operations=operations)
    won: list[bool] = []
    transient = []
    for item in response["items"]:
        result = item["index"]
        status = int(result.get("status", 500))
        won.append(status < 300)
        if status < 300:
            pass
        elif status == 409:
            SKIPPED.labels("superseded").inc()
        elif status == 429 or status >= 500 or status == 404:  # 404: the alias is gone; wait until it is back
            transient.append(f"{status} {result.get('error')}")
        else:  # a document the worker could not store either (it dead-letters that event)
            SKIPPED.labels("rejected").inc()
            log.warning("embedder write refused for %s: %s", result.get("_id"), result.get("error"))
    if transient:
        raise TransientBulkError(f"{len(transient)} side index writes refused for now, e.g. {transient[0]}")
    return won


def cluster_batch(
    es: Elasticsearch,
    alias: str,
    decoded: list[tuple[ArticleData, bool]],
    embedded: list[ArticleData],
    docs: list[dict[str, Any]],
    *,
    done: list[ArticleData],
) -> None:
    """Story clustering of the batch (clusterer.py), after its vectors are durable; replays are no-ops.

    ``done`` are the batch's articles the embedder skipped (already embedded, superseded): those not
    clustered yet (a crash between the two steps) are clustered from the vectors the alias holds.
    """
    latest: dict[str, tuple[int, bool]] = {}
    for article, retracted in decoded:
        held = latest.get(article.id)
        if held is None or (article.version, retracted) >= held:
            latest[article.id] = (article.version, retracted)
    retracted_ids = [(i, version) for i, (version, gone) in latest.items() if gone]
    vectors = {doc["id"]: np.asarray(doc["embedding"], dtype=np.float32) for doc in docs}
    pending = clusterer.without_done(es, alias, [(a.id, a.version) for a in done])
    if pending:
        vectors |= clusterer.stored_vectors(es, alias, [i for i, _ in pending])
        wanted = {i for i, _ in pending}
        embedded = embedded + [a for a in done if a.id in wanted]
    published = [(a, vectors[a.id]) for a in embedded if a.id in vectors]
    outcome = clusterer.apply(es, alias, published=published, retracted=retracted_ids)
    if outcome.updated:
        log.info("stories updated", extra={"stories": len(outcome.updated), "redirected": len(outcome.redirected)})


def process(
    es: Elasticsearch, alias: str, embedder: Embedder, decoded: list[tuple[ArticleData, bool]], *, cluster: bool = True
) -> int:
    """One batch of decoded events (steps 2-4 of the module docstring, then clustering); returns how
    many vectors were stored."""
    won, clustering = embed_batch(es, alias, embedder, decoded)
    if cluster:
        clustering()
    return won


def embed_batch(
    es: Elasticsearch, alias: str, embedder: Embedder, decoded: list[tuple[ArticleData, bool]]
) -> tuple[int, Callable[[], None]]:
    """Steps 2-4 of the module docstring: (how many vectors were stored, the batch's story clustering).

    The clustering is left to the caller so that the consumer loop can run it while the next batch
    is embedded (:class:`~newsflow_kit.consumer.Deferred`)."""
    latest = latest_events(decoded)
    if not latest:
        return 0, lambda: None
    articles = [article for article, retracted in latest.values() if not retracted]
    stored, vectors = stored_state(es, alias, [a.id for a in articles])
    todo = []
    for article in articles:
        reason = needs_embedding(article, stored.get(article.id), model=embedder.name, vector=vectors.get(article.id))
        if reason is None:
            todo.append(article)
        else:
            SKIPPED.labels(reason).inc()
    started = time.perf_counter()
    docs = embed_articles(embedder, todo)
    elapsed = time.perf_counter() - started
    writes = [(vectors_alias(alias), doc) for doc in docs]
    for article, retracted in latest.values():
        if retracted:  # retraction is final: neither a vector nor a digest of any older version survives it
            writes += [(side, side_tombstone(article.id, article.version)) for side in side_aliases(alias)]
    won = sum(write_side(es, writes)[: len(docs)])
    EMBEDDED.inc(won)
    log.info(
        "embedded batch",
        extra={"messages": len(decoded), "embedded": len(docs), "stored": won, "embed_ms": round(elapsed * 1000)},
    )
    done = [a for a in articles if a not in todo]
    return won, lambda: cluster_batch(es, alias, decoded, todo, docs, done=done)


def batch_handler(
    es: Elasticsearch, alias: str, embedder: Embedder, *, cluster: bool = True
) -> Callable[[list[Message]], list[Poison] | Deferred]:
    """Embeds each batch; its story clustering (``cluster``) is deferred to overlap the next batch."""

    def handle(batch: list[Message]) -> list[Poison] | Deferred:
        decoded = [d for d in (decode_article(m) for m in batch) if d is not None]
        _won, clustering = embed_batch(es, alias, embedder, decoded)
        return Deferred([], clustering) if cluster else []

    return handle


def wait_for_side_indices(es: Elasticsearch, settings: Settings) -> str:
    """The vectors index behind its alias once it has this code's side mapping (the articles alias and
    both side indices are created if missing)."""
    alias = settings.elasticsearch.alias
    while True:
        ensure_alias_with_retry(es, alias, settings.indexing)
        vectors, digests = (alias_indices(es, side) for side in side_aliases(alias))
        behind = {i: current_mapping_version(es, i) for i in [*vectors, *digests]}
        behind = {i: v for i, v in behind.items() if v != SIDE_MAPPING_VERSION}
        if not behind:
            return vectors[-1]
        log.warning("side indices %s have an older mapping than v%d: rebuild them", behind, SIDE_MAPPING_VERSION)
        time.sleep(30)


_ARTICLE_EVENTS = {EventType.ARTICLE_PUBLISHED, EventType.ARTICLE_UPDATED, EventType.ARTICLE_RETRACTED}


LEGACY_FIELDS = ("embedding_model", "digest_model", "ai_summary", "ai_key_points")
LEGACY_VECTOR_FIELDS = ("id", "version", "seq", "status", "language", "source_id", "published_at")


def migrate_legacy(es: Elasticsearch, source_index: str, alias: str, *, page: int = 200) -> int:
    """Copies the vectors and AI blocks a pre-v4 articles index held inside its documents into the side
    indices of ``alias`` (the reindex runs it on the index it replaces; on a v4 index it finds nothing).

    Each side document names the version it was computed for and is written with ``external``, so a
    side document the roles wrote since (same version or newer, or a tombstone) wins; reads join only
    matching versions.
    Returns how many vectors were copied.
    """
    query = {"bool": {"filter": [{"exists": {"field": "embedding_model"}}, {"term": {"status": PUBLISHED}}]}}
    after: list[Any] | None = None
    copied = 0
    while True:
        body: dict[str, Any] = {
            "query": query,
            "sort": [{"id": "asc"}],
            "size": page,
            "_source": [*LEGACY_VECTOR_FIELDS, *LEGACY_FIELDS],
            "fields": ["embedding"],
        }
        if after:
            body["search_after"] = after
        hits = es.search(index=source_index, body=body)["hits"]["hits"]
        if not hits:
            return copied
        after = hits[-1]["sort"]
        writes: list[tuple[str, dict[str, Any]]] = []
        for hit in hits:
            source, vector = hit["_source"], hit.get("fields", {}).get("embedding")
            if not vector:
                continue
            doc = {name: source[name] for name in LEGACY_VECTOR_FIELDS if name in source}
            writes.append(
                (vectors_alias(alias), {**doc, "embedding": vector, "embedding_model": source["embedding_model"]})
            )
            if source.get("digest_model"):
                block = digest_document(
                    source["id"],
                    int(source["version"]),
                    summary=str(source.get("ai_summary") or ""),
                    key_points=list(source.get("ai_key_points") or []),
                    model=str(source["digest_model"]),
                )
                writes.append((digests_alias(alias), block))
        results = write_side(es, writes, version_type="external")  # what the roles wrote since stays
        copied += sum(ok for (index, _), ok in zip(writes, results, strict=True) if index == vectors_alias(alias))
