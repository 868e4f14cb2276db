"""``newsflow-index summarizer``: the AI block (summary and key points) of every embedded article.

Not a consumer: the side indices say what is left to do. An article version needs a digest when the
vectors index holds its vector (by this model) and the digests index holds nothing for it at that
version (nor newer, nor a tombstone). Both are side indices, so the pending set is found by reading
pages of vectors newest first (``seq`` descending, only ``id``/``version``) and one ``mget`` of their
digests per page (:class:`Scan`). A pass then reads the chosen articles' bodies from the articles alias
and their vectors (the anchor of the score, see summaries.py) in one ``mget``, keeps only those the
alias still holds published *at the vector's version*, embeds their sentences (up to ``max_sentences``
each) in one model call and writes each AI block as a small digests document, at the article version
with ``external_gte``: a newer digest or a retraction tombstone already there makes it a 409. The
article document is never written. Nothing is lost in a crash: an article without its digest stays
pending.

Why its own role: a digest costs about ten times a vector (every sentence is embedded), so the
embedder, which clusters stories and feeds related articles, keeps up with the feed, and the
summaries follow at whatever pace the spare CPU allows (the role runs in the idle class).
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch
from prometheus_client import Counter

from newsflow_index.bulk import is_transient
from newsflow_index.embedder import write_versioned
from newsflow_index.embedding import Embedder, sentences
from newsflow_index.indices import digests_alias, vectors_alias
from newsflow_index.mapping import PUBLISHED, digest_document
from newsflow_index.summaries import digest

log = logging.getLogger(__name__)

MAX_REFUSED = 1000  # versions remembered as refused (past it the set starts over)
RECENT_S = 30.0  # how long an article is left out after a write or a miss (until a refresh shows it)
PAGE = 100  # vectors read per page of the scan (ids and versions only)
SWEEP_PAGES = 5  # pages below the newest one read per pass at most
SWEEP_PAUSE_S = 60.0  # after a sweep found nothing pending below the newest page, the next starts this much later
ARTICLE_FIELDS = ["id", "version", "status", "body", "summary"]  # what a digest is made of (besides the vector)
SUMMARIZED = Counter("newsflow_index_summarized_total", "Article versions the summarizer stored an AI block for.")


def body_of(source: dict[str, Any]) -> str:
    """The body text of a stored document, whichever language field holds it (else its summary)."""
    bodies = source.get("body") or {}
    return next((str(b) for b in bodies.values() if b), "") or str(source.get("summary") or "")


def digest_documents(
    embedder: Embedder, articles: list[tuple[dict[str, Any], list[float]]], *, max_sentences: int
) -> list[dict[str, Any]]:
    """The digests documents of (stored article, its vector) pairs, from one model call for all their sentences."""
    per_doc = [sentences(body_of(source), limit=max_sentences) for source, _ in articles]
    vectors = embedder.embed([s for group in per_doc for s in group])
    docs, offset = [], 0
    for (source, anchor), group in zip(articles, per_doc, strict=True):
        block = digest(group, vectors[offset : offset + len(group)], anchor=np.asarray(anchor, dtype=np.float32))
        offset += len(group)
        docs.append(
            digest_document(
                str(source["id"]),
                int(source["version"]),
                summary=block.summary,
                key_points=block.key_points,
                model=embedder.name,
            )
        )
    return docs


class Scan:
    """Finds vectors without a digest, newest first, at a bounded cost per pass.

    Every pass reads the newest page (new work is nearly always there). Only when that page is all
    done does it sweep on below it, ``SWEEP_PAGES`` pages at most per pass, resuming where the last
    pass stopped; a sweep that reaches the end without finding anything pauses ``SWEEP_PAUSE_S``
    (a backlog below the newest page appears only when the summarizer restarts or the embedder
    catches up on old partitions, so a slow sweep is enough, and an idle summarizer costs about two
    small requests a second).
    """

    def __init__(self, es: Elasticsearch, alias: str, model: str) -> None:
        self.es, self.alias, self.model = es, alias, model
        self._after: list[Any] | None = None  # where the sweep goes on
        self._sweep_at = 0.0  # monotonic time before which no new sweep starts

    def pending(self, *, skip: set[str], refused: set[tuple[str, int]], size: int) -> list[tuple[str, int]]:
        """Up to ``size`` (id, version) of vectors that still need a digest, newest first."""
        top = self._page(None, skip)
        found = self._without_digest(top, refused)
        if found or len(top) < PAGE:
            return found[:size]
        if self._after is None and time.monotonic() < self._sweep_at:
            return []
        after = self._after or top[-1]["sort"]
        for _ in range(SWEEP_PAGES):
            page = self._page(after, skip)
            found = self._without_digest(page, refused)
            if found:
                self._after = after  # this page again next time: what gets its digest drops out of it
                return found[:size]
            if len(page) < PAGE:  # the end: everything is done (or refused); rest a while
                self._after, self._sweep_at = None, time.monotonic() + SWEEP_PAUSE_S
                return []
            after = page[-1]["sort"]
        self._after = after
        return []

    def _page(self, after: list[Any] | None, skip: set[str]) -> list[dict[str, Any]]:
        query: dict[str, Any] = {
            "bool": {"filter": [{"term": {"status": PUBLISHED}}, {"term": {"embedding_model": self.model}}]}
        }
        if skip:
            query["bool"]["must_not"] = [{"ids": {"values": sorted(skip)}}]
        body: dict[str, Any] = {
            "query": query,
            "sort": [{"seq": "desc"}, {"id": "asc"}],
            "size": PAGE,
            "_source": ["id", "version"],
            "track_total_hits": False,
        }
        if after is not None:
            body["search_after"] = after
        hits: list[dict[str, Any]] = self.es.search(index=vectors_alias(self.alias), body=body)["hits"]["hits"]
        return hits

    def _without_digest(self, hits: list[dict[str, Any]], refused: set[tuple[str, int]]) -> list[tuple[str, int]]:
        wanted = [(hit["_id"], int(hit["_source"]["version"])) for hit in hits]
        wanted = [w for w in wanted if w not in refused]
        if not wanted:
            return []
        docs = self.es.mget(
            index=digests_alias(self.alias), ids=[i for i, _ in wanted], source_includes=["version", "digest_model"]
        )["docs"]
        return [(i, v) for (i, v), doc in zip(wanted, docs, strict=True) if not self._done(doc, v)]

    def _done(self, doc: dict[str, Any], version: int) -> bool:
        """A digest as new as ``version`` is there (by this model at that version, any newer, or a tombstone)."""
        if not doc.get("found"):
            return False
        held = doc["_source"]
        stored = int(held["version"])
        return stored > version or (stored == version and (held.get("digest_model") in (self.model, None)))


class Summarizer:
    """The role's loop: a pass whenever there is work, a pause of ``idle_s`` when there is none, and
    none while ``hold`` says the indexing path is busy."""

    name = "index-summarizer"

    def __init__(
        self,
        es: Elasticsearch,
        alias: str,
        embedder: Embedder,
        *,
        batch_size: int,
        max_sentences: int,
        idle_s: float,
        hold: Callable[[], bool] | None = None,
        hold_check_s: float = 0.5,
    ) -> None:
        self.es, self.alias, self.embedder = es, alias, embedder
        self.batch_size, self.max_sentences, self.idle_s = batch_size, max_sentences, idle_s
        self.hold, self.hold_check_s = hold, hold_check_s  # asked before each pass (pressure.py)
        self._scan = Scan(es, alias, embedder.name)
        self._stop = threading.Event()
        self._refused: set[tuple[str, int]] = set()  # versions never to ask for again (refused, superseded, retracted)
        self._recent: dict[str, float] = {}  # article id → until when it is left out (written, or not indexed yet)

    def run_once(self) -> int:
        """Summarises up to ``batch_size`` articles; returns how many were looked at (0: nothing to do)."""
        now = time.monotonic()
        self._recent = {article_id: until for article_id, until in self._recent.items() if until > now}
        if len(self._refused) >= MAX_REFUSED:
            self._refused.clear()
        chosen = self._scan.pending(skip=set(self._recent), refused=self._refused, size=self.batch_size)
        if not chosen:
            return 0
        articles = self._live(chosen)
        if not articles:
            return len(chosen)
        started = time.perf_counter()
        docs = digest_documents(self.embedder, articles, max_sentences=self.max_sentences)
        elapsed = time.perf_counter() - started
        won = write_versioned(self.es, digests_alias(self.alias), docs)
        SUMMARIZED.inc(won)
        self._recent |= {doc["id"]: time.monotonic() + RECENT_S for doc in docs}
        if won < len(docs):  # superseded by a newer digest or a tombstone, or refused: not asked again
            stored = self.es.mget(
                index=digests_alias(self.alias),
                ids=[d["id"] for d in docs],
                source_includes=["version", "digest_model"],
            )["docs"]
            for doc, held in zip(docs, stored, strict=True):
                if (held.get("_source") or {}).get("digest_model") != self.embedder.name:
                    self._refused.add((doc["id"], int(doc["version"])))
        log.info("summarised batch", extra={"articles": len(docs), "stored": won, "digest_ms": round(elapsed * 1000)})
        return len(chosen)

    def _live(self, chosen: list[tuple[str, int]]) -> list[tuple[dict[str, Any], list[float]]]:
        """(article source, vector) of the chosen versions the articles alias still holds published at
        that version, read with one ``mget`` over the alias and the vectors index."""
        ids = [i for i, _ in chosen]
        docs = [{"_index": self.alias, "_id": i, "_source": ARTICLE_FIELDS} for i in ids]
        docs += [{"_index": vectors_alias(self.alias), "_id": i, "_source": ["version", "embedding"]} for i in ids]
        found = self.es.mget(docs=docs)["docs"]
        live = []
        for (article_id, version), article, vector in zip(chosen, found[: len(ids)], found[len(ids) :], strict=True):
            source, held = article.get("_source") or {}, vector.get("_source") or {}
            stored = int(source.get("version", -1))
            if stored < version:  # the embedder ran ahead of the worker: come back later
                self._recent[article_id] = time.monotonic() + RECENT_S
            elif source.get("status") != PUBLISHED or stored > version:
                self._refused.add((article_id, version))  # retracted, or a newer version waits for its vector
            elif int(held.get("version", -1)) == version and held.get("embedding"):
                live.append((source, held["embedding"]))
            else:  # its vector changed since the scan read it: the next refresh shows the new one
                self._recent[article_id] = time.monotonic() + RECENT_S
        return live

    def run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            if self.hold is not None and self.hold():
                self._stop.wait(self.hold_check_s)
                continue
            try:
                busy = self.run_once() > 0
                backoff = 0.5
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("summarizer pass failed")
                else:
                    log.warning("summarizer waiting for Elasticsearch: %s", exc)
                busy = False
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
            if not busy:
                self._stop.wait(self.idle_s)

    def stop(self) -> None:
        self._stop.set()
