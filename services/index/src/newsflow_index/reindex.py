"""``newsflow-index reindex``: rebuild the index from the compacted articles.v1, swap the alias, zero downtime.

    1. create <alias>-v<N>-<timestamp> (refresh off) and replay articles.v1 from the beginning
       up to the end offsets taken at the start (explicit assignment: no consumer group to clean up)
    2. refresh, then point the alias at the new index in one atomic request
    3. replay again from where step 1 stopped up to the end offsets taken after the swap: whatever
       the live worker wrote into the old index meanwhile is now in the new one too (external
       versions make the double write harmless); from the swap on, the worker writes through the
       alias into the new index
    4. delete the old index (unless ``--keep-old``)

The AI roles' side indices (vectors, digests) are keyed by article id and version, not by index, so
they stay as they are. An old index from before mapping v4 still holds vectors and AI blocks inside
its documents: they are copied into the side indices before it is deleted (``migrate_legacy``).

Searches keep going through the alias the whole time: the old index until the swap, then the new one.
"""

import logging
import time
from collections.abc import Callable
from functools import partial

from confluent_kafka import Consumer, Message
from elasticsearch import Elasticsearch

from newsflow_index.bulk import is_transient
from newsflow_index.embedder import migrate_legacy
from newsflow_index.indices import alias_indices, create_index, ensure_side_aliases, swap_alias
from newsflow_index.replay import end_offsets, partitions, read_until
from newsflow_index.settings import Settings
from newsflow_index.worker import batch_handler
from newsflow_kit.consumer import Poison

log = logging.getLogger(__name__)

OLD_INDEX_GRACE_S = 2.0


def group_id(name: str) -> str:
    """The reader's consumer group (unique per new index; explicit assignment, so nothing to clean up)."""
    return f"index-reindex-{name}"


def run(settings: Settings, es: Elasticsearch, consumer: Consumer, name: str, *, keep_old: bool = False) -> str:
    """Builds the index ``name`` (from ``new_index_name``) with ``consumer`` (a ``reader`` in the group
    ``group_id(name)``) and switches the alias to it; returns its name."""
    alias, topic = settings.elasticsearch.alias, settings.kafka.articles_topic
    try:
        create_index(es, name, settings.indexing, refresh_interval="-1")
        ensure_side_aliases(es, alias, settings.indexing)  # where an old index's AI fields are copied to
        store = _retrying(batch_handler(es, name, max_bulk_bytes=settings.indexing.max_bulk_bytes))
        parts = partitions(consumer, topic)
        replay = partial(
            read_until,
            consumer,
            topic,
            on_batch=store,
            batch_size=settings.indexing.batch_size,
            batch_timeout=settings.indexing.batch_timeout_s,
        )
        ends = end_offsets(consumer, topic, parts)
        log.info("reindex into %s: replaying %s up to %s", name, topic, ends)
        positions = replay(start={}, ends=ends)
        es.indices.put_settings(index=name, settings={"refresh_interval": settings.indexing.refresh_interval})
        es.indices.refresh(index=name)
        old = swap_alias(es, alias, name)
        ends = end_offsets(consumer, topic, parts)
        replay(start=positions, ends=ends)
        log.info("reindex into %s caught up at %s", name, ends)
        for previous in old:  # a pre-v4 index kept vectors and AI blocks in its documents (docs/ai.md)
            copied = migrate_legacy(es, previous, alias)
            if copied:
                log.info("copied %d vectors (and their AI blocks) from %s into the side indices", copied, previous)
        if old and not keep_old:
            time.sleep(OLD_INDEX_GRACE_S)  # let searches that resolved the alias before the swap finish
            es.indices.delete(index=",".join(old), ignore_unavailable=True)
            log.info("deleted old index(es) %s", ", ".join(old))
        return name
    except BaseException:
        if name not in alias_indices(es, alias):  # never reached the alias: nobody reads it
            es.indices.delete(index=name, ignore_unavailable=True)
        raise


def _retrying(handler: Callable[[list[Message]], list[Poison]]) -> Callable[[list[Message]], None]:
    """Retries a batch while the failure is transient; poison is only logged (the worker dead-letters it)."""

    def store(batch: list[Message]) -> None:
        delay = 0.2
        while True:
            try:
                for p in handler(batch):
                    log.warning(
                        "reindex skips %s[%s]@%s: %s",
                        p.message.topic(),
                        p.message.partition(),
                        p.message.offset(),
                        p.error,
                    )
                return
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("reindex batch failed (%s); retrying in %.1fs", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    return store
