"""``newsflow-index summarizer``: the AI block (summary and key points) of every embedded article.

Not a consumer: the index itself says what is left to do. Each pass asks for the newest published
documents that have their vector but no digest by this model (``digest_model``), embeds their
sentences (up to ``max_sentences`` each; the stored title + lead vector is the anchor, see
summaries.py), and writes each back whole with the AI block at the same version, ``external_gte``:
a newer version stored meanwhile makes it a 409 (skipped; that version gets its own digest once it
has its vector). Nothing is lost in a crash: an article without its digest stays selectable.

Why its own role: a digest costs about ten times a vector (every sentence is embedded), so the
embedder, which clusters stories and feeds related articles, keeps up with the feed, and the
summaries follow at whatever pace the spare CPU allows (the role runs niced).
"""

import logging
import threading
import time
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch
from prometheus_client import Counter

from newsflow_index.bulk import is_transient
from newsflow_index.embedder import write_versioned
from newsflow_index.embedding import Embedder, sentences
from newsflow_index.mapping import PUBLISHED, with_digest
from newsflow_index.summaries import digest

log = logging.getLogger(__name__)

MAX_REFUSED = 1000  # versions remembered as refused (past it the set starts over)
RECENT_S = 30.0  # how long a just-written article is left out: until a refresh shows its digest
SUMMARIZED = Counter("newsflow_index_summarized_total", "Article versions the summarizer stored an AI block for.")


def pending_query(model: str, *, skip: list[str] | None = None) -> dict[str, Any]:
    """Published documents with a vector and without a digest by ``model`` (other than ``skip``)."""
    must_not: list[dict[str, Any]] = [{"term": {"digest_model": model}}]
    if skip:
        must_not.append({"ids": {"values": skip}})
    return {
        "bool": {
            "filter": [{"term": {"status": PUBLISHED}}, {"exists": {"field": "embedding_model"}}],
            "must_not": must_not,
        }
    }


def body_of(source: dict[str, Any]) -> str:
    """The body text of a stored document, whichever language field holds it (else its summary)."""
    bodies = source.get("body") or {}
    return next((str(b) for b in bodies.values() if b), "") or str(source.get("summary") or "")


def digest_documents(embedder: Embedder, hits: list[dict[str, Any]], *, max_sentences: int) -> list[dict[str, Any]]:
    """Each hit's whole document with its AI block, from one model call for all their sentences."""
    per_doc = [sentences(body_of(hit["_source"]), limit=max_sentences) for hit in hits]
    vectors = embedder.embed([s for group in per_doc for s in group])
    docs, offset = [], 0
    for hit, group in zip(hits, per_doc, strict=True):
        stored = hit["fields"]["embedding"]
        anchor = np.asarray(stored, dtype=np.float32)
        block = digest(group, vectors[offset : offset + len(group)], anchor=anchor)
        offset += len(group)
        document = {**hit["_source"], "embedding": stored}
        docs.append(with_digest(document, summary=block.summary, key_points=block.key_points, model=embedder.name))
    return docs


class Summarizer:
    """The role's loop: a pass whenever there is work, a pause of ``idle_s`` when there is none."""

    name = "index-summarizer"

    def __init__(
        self, es: Elasticsearch, alias: str, embedder: Embedder, *, batch_size: int, max_sentences: int, idle_s: float
    ) -> None:
        self.es, self.alias, self.embedder = es, alias, embedder
        self.batch_size, self.max_sentences, self.idle_s = batch_size, max_sentences, idle_s
        self._stop = threading.Event()
        self._refused: set[tuple[str, int]] = set()  # versions Elasticsearch will not take: not asked again
        self._recent: dict[str, float] = {}  # article id → until when it is left out (written just now)

    def run_once(self) -> int:
        """Summarises up to ``batch_size`` articles; returns how many were looked at (0: nothing to do)."""
        now = time.monotonic()
        self._recent = {article_id: until for article_id, until in self._recent.items() if until > now}
        response = self.es.search(
            index=self.alias,
            query=pending_query(self.embedder.name, skip=list(self._recent)),
            sort=[{"seq": "desc"}],
            size=self.batch_size + len(self._refused),  # the refused ones may come first
            fields=[{"field": "embedding"}],
            source_excludes=["title_suggest"],
        )
        hits = [
            hit
            for hit in response["hits"]["hits"]
            if (hit["_id"], int(hit["_source"]["version"])) not in self._refused
            and hit.get("fields", {}).get("embedding")
        ][: self.batch_size]
        if not hits:
            return 0
        started = time.perf_counter()
        docs = digest_documents(self.embedder, hits, max_sentences=self.max_sentences)
        elapsed = time.perf_counter() - started
        won = write_versioned(self.es, self.alias, docs)
        SUMMARIZED.inc(won)
        self._recent |= {doc["id"]: time.monotonic() + RECENT_S for doc in docs}
        if won < len(docs):  # superseded (its newer version comes round again) or refused (remembered)
            if len(self._refused) >= MAX_REFUSED:
                self._refused.clear()
            done = self.es.mget(index=self.alias, ids=[d["id"] for d in docs], source_includes=["digest_model"])
            for doc, stored in zip(docs, done["docs"], strict=True):
                if (stored.get("_source") or {}).get("digest_model") != self.embedder.name:
                    self._refused.add((doc["id"], int(doc["version"])))
        log.info("summarised batch", extra={"articles": len(docs), "stored": won, "digest_ms": round(elapsed * 1000)})
        return len(docs)

    def run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
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
