"""``newsflow-index embedder``: consumer group ``index-embedder`` on articles.v1 → vectors and story clusters.

Its own process and consumer group, so the indexing worker never waits for the model. Per batch:

1. decode, keep the latest version of each article (a retraction wins; retracted articles are skipped);
2. one ``mget`` of the stored versions: skip articles already stored at a newer version, retracted at
   the same or a newer version, or already embedded at this version by this model (replays are cheap);
3. embed title + lead of the rest in one call (one text per article: the summary and key points,
   which need every sentence embedded, are the summarizer role's, so vectors keep up with the feed);
4. ``_bulk`` each as the *whole* document of that version (same ``to_document`` as the worker) plus
   the vector, with ``version = article version`` and ``version_type=external_gte``.

Why not a partial ``_update``: an update bumps Elasticsearch's ``_version`` by one, so the worker's
next real version (``external``, strictly greater) would be refused as a conflict and lost. The
``external_gte`` write at the article's own version can never regress a document (a newer one makes it
a 409, counted as done) nor resurrect a retracted one (a retraction is always a newer version in
ingest, and step 2 skips a tombstone of the same version). If the embedder runs ahead of the worker it
simply stores the version first; the worker's own write of that version then conflicts, harmlessly.

At least once: offsets are stored after the bulk was acknowledged; ES down/overloaded → the batch is
retried with back-off (``is_transient``). Undecodable messages are skipped (the worker dead-letters them).
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
from newsflow_index.indices import current_mapping_version, ensure_alias_with_retry
from newsflow_index.mapping import MAPPING_VERSION, PUBLISHED, RETRACTED, to_document, with_vector
from newsflow_index.settings import Settings
from newsflow_kit.consumer import Poison

log = logging.getLogger(__name__)

GROUP_ID = "index-embedder"
EMBEDDED = Counter("newsflow_index_embedded_total", "Article versions the embedder stored vectors for.")
SKIPPED = Counter("newsflow_index_embed_skipped_total", "Article versions the embedder did not embed.", ["reason"])


@dataclass(frozen=True)
class Stored:
    """What the alias holds for an article: its version, status and which model embedded it."""

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


def latest_versions(decoded: Iterable[tuple[ArticleData, bool]]) -> list[ArticleData]:
    """The newest published version of each article in a batch (an article retracted in it is dropped)."""
    latest: dict[str, tuple[ArticleData, bool]] = {}
    for article, retracted in decoded:
        held = latest.get(article.id)
        if held is None or (article.version, retracted) >= (held[0].version, held[1]):
            latest[article.id] = (article, retracted)
    return [article for article, retracted in latest.values() if not retracted]


def needs_embedding(article: ArticleData, stored: Stored | None, *, model: str) -> str | None:
    """None when the article version should be embedded, else the reason to skip it."""
    if stored is None:
        return None
    if stored.version > article.version:
        return "superseded"
    if stored.status == RETRACTED and stored.version >= article.version:
        return "retracted"
    if stored.version == article.version and stored.model == model:
        return "done"
    return None


def stored_state(es: Elasticsearch, index: str, ids: list[str]) -> dict[str, Stored]:
    response = es.mget(index=index, ids=ids, source_includes=["version", "status", "embedding_model"])
    found: dict[str, Stored] = {}
    for doc in response["docs"]:
        if doc.get("found"):
            source = doc["_source"]
            found[doc["_id"]] = Stored(int(source["version"]), str(source["status"]), source.get("embedding_model"))
    return found


def embed_articles(embedder: Embedder, articles: list[ArticleData]) -> list[dict[str, Any]]:
    """The documents (article + vector) of ``articles``, with one model call for all texts."""
    vectors = embedder.embed([document_text(a) for a in articles])
    return [
        with_vector(to_document(article), vector=[round(float(x), 6) for x in vector], model=embedder.name)
        for article, vector in zip(articles, vectors, strict=True)
    ]


def write_versioned(es: Elasticsearch, index: str, docs: list[dict[str, Any]]) -> int:
    """Stores each document at its article version unless something as new is there; returns how many won."""
    operations: list[dict[str, Any]] = []
    for doc in docs:
        operations += [
            {"index": {"_index": index, "_id": doc["id"], "version": doc["version"], "version_type": "external_gte"}},
            doc,
        ]
    response = es.bulk(operations=operations)
    won, transient = 0, []
    for item in response["items"]:
        result = item["index"]
        status = int(result.get("status", 500))
        if status < 300:
            won += 1
        elif status == 409:
            SKIPPED.labels("superseded").inc()
        elif status == 429 or status >= 500:
            transient.append(f"{status} {result.get('error')}")
        else:  # a document the worker could not store either (it dead-letters that event)
            SKIPPED.labels("rejected").inc()
            log.warning("embedder write refused for %s: %s", result.get("_id"), result.get("error"))
    if transient:
        raise TransientBulkError(f"{len(transient)} vector writes refused for now, e.g. {transient[0]}")
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


def batch_handler(
    es: Elasticsearch, index: str, embedder: Embedder, *, cluster: bool = True
) -> Callable[[list[Message]], list[Poison]]:
    def handle(batch: list[Message]) -> list[Poison]:
        decoded = [d for d in (decode_article(m) for m in batch) if d is not None]
        articles = latest_versions(decoded)
        if not articles:
            return []
        stored = stored_state(es, index, [a.id for a in articles])
        todo = []
        for article in articles:
            reason = needs_embedding(article, stored.get(article.id), model=embedder.name)
            if reason is None:
                todo.append(article)
            else:
                SKIPPED.labels(reason).inc()
        started = time.perf_counter()
        docs = embed_articles(embedder, todo)
        elapsed = time.perf_counter() - started
        won = write_versioned(es, index, docs) if docs else 0
        EMBEDDED.inc(won)
        log.info(
            "embedded batch",
            extra={"messages": len(batch), "embedded": len(docs), "stored": won, "embed_ms": round(elapsed * 1000)},
        )
        if cluster:
            cluster_batch(es, index, decoded, todo, docs, done=[a for a in articles if a not in todo])
        return []

    return handle


def wait_for_current_mapping(es: Elasticsearch, settings: Settings) -> str:
    """The alias's index once it has this code's mapping (an older one has no vector field: reindex first)."""
    while True:
        index = ensure_alias_with_retry(es, settings.elasticsearch.alias, settings.indexing)
        version = current_mapping_version(es, index)
        if version == MAPPING_VERSION:
            return index
        log.warning(
            "index %s has mapping v%s, the embedder needs v%d: run newsflow-index reindex",
            index,
            version,
            MAPPING_VERSION,
        )
        time.sleep(30)


_ARTICLE_EVENTS = {EventType.ARTICLE_PUBLISHED, EventType.ARTICLE_UPDATED, EventType.ARTICLE_RETRACTED}


AI_FIELDS = ("embedding_model", "digest_model", "ai_summary", "ai_key_points")


def carry_over(es: Elasticsearch, source_index: str, target_index: str, *, page: int = 200) -> int:
    """Copies vectors and AI blocks from ``source_index`` into ``target_index`` where the version matches.

    Used by the reindex (a rebuilt index has the articles from articles.v1 but not what the embedder
    computed). Each copy is the target's own document plus the AI fields, at the same version with
    ``external_gte``: a newer version or a tombstone that arrived meanwhile wins (409, skipped).
    Returns how many documents got their AI fields back.
    """
    query = {"bool": {"filter": [{"exists": {"field": "embedding_model"}}]}}
    after: list[Any] | None = None
    carried = 0
    while True:
        body: dict[str, Any] = {
            "query": query,
            "sort": [{"id": "asc"}],
            "size": page,
            "_source": ["id", "version", *AI_FIELDS],
            "fields": ["embedding"],
        }
        if after:
            body["search_after"] = after
        response = es.search(index=source_index, body=body)
        hits = response["hits"]["hits"]
        if not hits:
            return carried
        after = hits[-1]["sort"]
        old = {h["_id"]: h for h in hits}
        current = es.mget(index=target_index, ids=list(old))["docs"]
        docs = []
        for doc in current:
            hit = old[doc["_id"]]
            source = doc.get("_source") or {}
            vector = hit.get("fields", {}).get("embedding")
            if source.get("status") != PUBLISHED or source.get("version") != hit["_source"]["version"] or not vector:
                continue
            ai = {name: hit["_source"][name] for name in AI_FIELDS if name in hit["_source"]}
            docs.append({**source, **ai, "embedding": vector})
        carried += write_versioned(es, target_index, docs) if docs else 0
