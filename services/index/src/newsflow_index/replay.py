"""Reading a topic's partitions up to the end offsets seen when the reading started (reindex, redrive)."""

import logging
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from newsflow_kit.settings import KafkaSettings

log = logging.getLogger(__name__)

Positions = dict[int, int]


def reader(settings: KafkaSettings, *, group_id: str, client_id: str) -> Consumer:
    """A consumer for explicit assignment: no group membership, commits only when asked to."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "group.id": group_id,
        "client.id": client_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
    }
    return Consumer(config)


def partitions(consumer: Consumer, topic: str, timeout: float = 10.0) -> list[int]:
    metadata = consumer.list_topics(topic, timeout=timeout).topics[topic]
    if metadata.error is not None:
        raise RuntimeError(f"topic {topic}: {metadata.error}")
    return sorted(metadata.partitions)


def end_offsets(consumer: Consumer, topic: str, parts: list[int], timeout: float = 10.0) -> Positions:
    """The high watermark (next offset to be written) of each partition, now."""
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)[1] for p in parts}


def read_until(
    consumer: Consumer,
    topic: str,
    *,
    start: Positions,
    ends: Positions,
    on_batch: Callable[[list[Message]], None],
    batch_size: int = 500,
    batch_timeout: float = 0.5,
) -> Positions:
    """Feeds ``on_batch`` everything from ``start`` (missing: the beginning) up to ``ends``; returns the positions."""
    positions = {}
    for p in ends:
        low = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10.0)[0]
        positions[p] = max(start.get(p, low), low)  # retention may have removed what came before
    todo = [p for p, end in ends.items() if positions[p] < end]
    if not todo:
        return positions
    consumer.assign([TopicPartition(topic, p, positions[p]) for p in todo])
    try:
        while todo:
            batch = [m for m in consumer.consume(batch_size, batch_timeout) if _ok(m)]
            if batch:
                on_batch(batch)
            for tp in consumer.position([TopicPartition(topic, p) for p in todo]):
                if tp.offset >= 0:
                    positions[tp.partition] = tp.offset
            todo = [p for p in todo if positions[p] < ends[p]]
    finally:
        consumer.unassign()
    return positions


def _ok(msg: Message) -> bool:
    err = msg.error()
    if err is not None and err.code() != KafkaError._PARTITION_EOF:
        log.warning("reading %s[%s]: %s", msg.topic(), msg.partition(), err)
    return err is None
