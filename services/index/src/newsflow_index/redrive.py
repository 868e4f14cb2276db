"""``newsflow-index redrive``: re-publish dead-lettered messages to articles.v1, then commit.

Reads the DLQ with the consumer group ``index-redrive`` from its committed offsets up to the end
offsets seen at the start (so a message that fails again is not re-driven in a loop), re-publishes
each message unchanged (same key and value; the ``dlq.*`` headers dropped, ``redriven_from`` added),
and commits only after Kafka acknowledged the re-published messages.
"""

import logging

from confluent_kafka import Consumer, Message, Producer, TopicPartition

from newsflow_index.replay import end_offsets, partitions, read_until
from newsflow_index.settings import Settings

log = logging.getLogger(__name__)

GROUP_ID = "index-redrive"


def run(settings: Settings, consumer: Consumer, producer: Producer) -> int:
    """Re-drives what is in the DLQ now with ``consumer`` (a ``reader`` in the group ``GROUP_ID``);
    returns how many messages went back to the main topic."""
    dlq, target = settings.kafka.articles_dlq_topic, settings.kafka.articles_topic
    count = 0

    def republish(batch: list[Message]) -> None:
        nonlocal count
        for msg in batch:
            headers: list[tuple[str, str | bytes | None]] = [
                (str(h[0]), h[1]) for h in (msg.headers() or []) if not str(h[0]).startswith("dlq.")
            ]
            headers.append(("redriven_from", f"{dlq}[{msg.partition()}]@{msg.offset()}".encode()))
            producer.produce(target, key=msg.key(), value=msg.value(), headers=headers)
        if producer.flush(30):
            raise RuntimeError("re-published messages were not acknowledged; nothing committed")
        last = {m.partition() or 0: m.offset() or 0 for m in batch}
        consumer.commit(offsets=[TopicPartition(dlq, p, o + 1) for p, o in last.items()], asynchronous=False)
        count += len(batch)
        log.info("re-drove %d messages from %s to %s", len(batch), dlq, target)

    parts = partitions(consumer, dlq)
    committed = consumer.committed([TopicPartition(dlq, p) for p in parts], timeout=10)
    start = {tp.partition: tp.offset for tp in committed if tp.offset >= 0}
    read_until(consumer, dlq, start=start, ends=end_offsets(consumer, dlq, parts), on_batch=republish)
    log.info("redrive done: %d messages back on %s", count, target)
    return count
