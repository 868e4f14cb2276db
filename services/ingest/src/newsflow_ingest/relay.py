"""``newsflow-ingest relay``: publishes article changes that stayed ``pending`` and marks them sent.

The api publishes right after its write (fast path); the relay sweeps what that missed — a crash
between the write and the flip, a broker outage. It re-sends the same version with the same
``event_id``, so a duplicate is harmless to the idempotent consumers.
"""

import logging
import os
import signal
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from newsflow_ingest.events import envelope
from newsflow_ingest.metrics import RELAYED
from newsflow_ingest.settings import Settings
from newsflow_kit.kafka import encode, producer_config
from newsflow_kit.mongo import sync_mongo

log = logging.getLogger(__name__)
BATCH = 500
# Fault injection for the tests: exit after Kafka acknowledged and before the flip is written.
CRASH_BEFORE_FLIP = "NEWSFLOW_TEST_RELAY_CRASH_BEFORE_FLIP"


def sweep(articles: Any, producer: Producer, topic: str, *, grace_s: float) -> int:
    """Publishes one batch of pending changes; returns how many were acknowledged and flipped."""
    cutoff = datetime.now(UTC) - timedelta(seconds=grace_s)
    docs = list(articles.find({"bus": "pending", "changed_at": {"$lte": cutoff}}).sort("seq", 1).limit(BATCH))
    if not docs:
        return 0
    acked: list[int] = []
    failed: list[KafkaError] = []
    for doc in docs:
        value, headers = encode(envelope(doc, producer="ingest.relay"))

        key = int(doc["_id"])  # the version's seq

        def delivered(err: KafkaError | None, _msg: Message, key: int = key) -> None:
            if err is not None:
                failed.append(err)
            else:
                acked.append(key)

        while True:
            try:
                producer.produce(
                    topic, key=doc["article_id"].encode(), value=value, headers=headers, on_delivery=delivered
                )
                break
            except BufferError:
                producer.poll(0.1)
    producer.flush(30)
    if failed:
        log.warning("relay: %d sends failed (%s); they stay pending", len(failed), failed[0])
    if os.environ.get(CRASH_BEFORE_FLIP) and acked:
        log.error("relay: crashing before the flip (fault injection)")
        os._exit(70)
    for seq in acked:
        articles.update_one({"_id": seq, "bus": "pending"}, {"$set": {"bus": "sent"}})
    RELAYED.inc(len(acked))
    log.info("relay: published %d pending changes", len(acked))
    return len(acked)


def run(settings: Settings) -> None:
    """Sweeps until SIGTERM/SIGINT; each sweep's acknowledged changes are flipped before the next."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    client = sync_mongo(settings.mongo)
    articles = client[settings.database]["article_versions"]
    producer = Producer(producer_config(settings.kafka, client_id="ingest-relay"))
    log.info("relay: sweeping %s every %.1fs", settings.database, settings.relay_interval_s)
    try:
        while not stop.is_set():
            try:
                while sweep(articles, producer, settings.kafka.articles_topic, grace_s=settings.relay_grace_s) and (
                    not stop.is_set()
                ):
                    pass
            except Exception:  # MongoDB or Kafka unavailable: try again next tick
                log.exception("relay: sweep failed")
            stop.wait(settings.relay_interval_s)
    finally:
        producer.flush(10)
        client.close()
        log.info("relay: stopped")
