"""``newsflow-index worker``: consumer group ``index`` on articles.v1 → Elasticsearch, at least once.

Each consumed batch becomes one ``_bulk`` (split by size) into the alias; offsets are stored by the
kit's loop only after the handler returned, i.e. after every item was acknowledged. Undecodable,
schema-invalid or mapping-rejected messages come back as :class:`Poison` (→ DLQ); Elasticsearch being
down, overloaded or failing raises, and the loop retries the same batch with back-off.
"""

import logging
from collections.abc import Callable

from confluent_kafka import Message
from elasticsearch import Elasticsearch

from newsflow_index.bulk import write_bulk
from newsflow_index.writes import Undecodable, Write, decode, latest_per_article
from newsflow_kit.consumer import Poison

log = logging.getLogger(__name__)

GROUP_ID = "index"


def batch_handler(es: Elasticsearch, index: str, *, max_bulk_bytes: int) -> Callable[[list[Message]], list[Poison]]:
    """The handler that writes a batch of article events into ``index`` (an alias or a concrete index)."""

    def handle(batch: list[Message]) -> list[Poison]:
        poison: list[Poison] = []
        decoded: list[tuple[Message, Write]] = []
        for msg in batch:
            try:
                decoded.append((msg, decode(msg)))
            except Undecodable as exc:
                poison.append(Poison(msg, exc.reason, str(exc)))
        winners = latest_per_article(decoded)
        refused = write_bulk(es, index, [w for _, w in winners], max_bytes=max_bulk_bytes)
        poison += [Poison(winners[i][0], "rejected", error) for i, error in refused.items()]
        log.info("indexed batch", extra={"messages": len(batch), "writes": len(winners), "poison": len(poison)})
        return poison

    return handle
