"""The Kafka readiness probe renews a client that keeps failing (real clients, real local broker)."""

import pytest
from confluent_kafka import KafkaException

from newsflow_kit.kafka import _KafkaProbe
from newsflow_kit.settings import KafkaSettings


async def test_a_client_that_keeps_failing_is_replaced(kafka_topics: KafkaSettings) -> None:
    """A wedged client would keep a replica unready after the broker came back (the fault matrix saw
    it after a 30 s freeze); the probe swaps it for a new one after three failures in a row."""
    probe = _KafkaProbe(kafka_topics.model_copy(update={"bootstrap_servers": "127.0.0.1:9"}), renew_after=3)
    first = probe.client
    for _ in range(2):
        with pytest.raises(KafkaException):
            await probe.check()
    assert probe.client is first
    with pytest.raises(KafkaException):
        await probe.check()
    assert probe.client is not first
    probe.settings = kafka_topics  # the broker is back: the next client answers
    probe.client = _KafkaProbe(kafka_topics).client
    await probe.check()
    assert probe.failures == 0
