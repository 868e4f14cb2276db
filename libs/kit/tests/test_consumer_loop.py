"""The at-least-once loop against the real broker: retries, dead letters, offsets after the effect."""

import threading
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, Message, Producer, TopicPartition

from newsflow_kit.consumer import ConsumerLoop, Deferred, Poison
from newsflow_kit.settings import KafkaSettings
from newsflow_kit.testing import eventually, read_topic, unique


def _produce(settings: KafkaSettings, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers})
    for i, value in enumerate(values):
        producer.produce(topic, key=f"k{i % 3}".encode(), value=value)
    assert producer.flush(10) == 0


def _run(loop: ConsumerLoop) -> threading.Thread:
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    return thread


def test_failures_are_retried_poison_is_dead_lettered_and_offsets_stored(kafka_topics: KafkaSettings) -> None:
    topic, dlq = kafka_topics.articles_topic, kafka_topics.articles_dlq_topic
    values = [f"ok-{i}".encode() for i in range(20)] + [b"poison"] + [f"ok-{i}".encode() for i in range(20, 30)]
    _produce(kafka_topics, topic, values)
    handled: list[bytes] = []
    failures = {"left": 2}

    def handler(batch: list[Message]) -> list[Poison]:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("store is down")
        poison = [Poison(m, "undecodable", "not an event") for m in batch if m.value() == b"poison"]
        handled.extend(m.value() for m in batch if m.value() != b"poison")  # type: ignore[misc]
        return poison

    group = unique("group")
    loop = ConsumerLoop(
        kafka_topics,
        name="t",
        group_id=group,
        topics=[topic],
        handler=handler,
        dlq_topic=dlq,
        batch_size=7,
        batch_timeout=0.2,
    )
    thread = _run(loop)
    eventually(lambda: len(handled) == 30, timeout=30)
    loop.stop()
    thread.join(15)
    assert sorted(handled) == sorted(v for v in values if v != b"poison")
    dead = read_topic(kafka_topics, dlq, until=lambda ms: len(ms) >= 1)
    headers: dict[str, Any] = dict(dead[0].headers() or [])
    assert dead[0].value() == b"poison"
    assert headers["dlq.reason"] == b"undecodable" and headers["dlq.topic"] == topic.encode()

    # Offsets were committed on close: the same group sees nothing again.
    seen: list[bytes] = []

    def record(batch: list[Message]) -> list[Poison]:
        seen.extend(m.value() for m in batch)  # type: ignore[misc]
        return []

    _produce(kafka_topics, topic, [b"after-restart"])
    again = ConsumerLoop(kafka_topics, name="t2", group_id=group, topics=[topic], handler=record, batch_timeout=0.2)
    thread = _run(again)
    eventually(lambda: seen == [b"after-restart"], timeout=30)
    again.stop()
    thread.join(15)


def test_a_trickle_is_handled_at_once_and_a_backlog_in_full_batches(kafka_topics: KafkaSettings) -> None:
    topic = kafka_topics.articles_topic
    _produce(kafka_topics, topic, [f"backlog-{i}".encode() for i in range(300)])
    batches: list[tuple[float, int]] = []

    def handler(batch: list[Message]) -> list[Poison]:
        batches.append((time.monotonic(), len(batch)))
        return []

    # A batch that would take 20 s to fill must not hold a lone message back.
    loop = ConsumerLoop(
        kafka_topics, name="t", group_id=unique("group"), topics=[topic], handler=handler, batch_size=100,
        batch_timeout=20,
    )  # fmt: skip
    thread = _run(loop)
    eventually(lambda: sum(n for _, n in batches) == 300, timeout=30)
    assert max(n for _, n in batches) == 100  # what had arrived went in whole batches
    sent = time.monotonic()
    _produce(kafka_topics, topic, [b"alone"])
    eventually(lambda: sum(n for _, n in batches) == 301, timeout=30, interval=0.05)
    assert batches[-1][1] == 1 and batches[-1][0] - sent < 5, batches[-1][0] - sent
    loop.stop()
    thread.join(30)


def test_a_message_failing_alone_is_isolated_after_bounded_retries(kafka_topics: KafkaSettings) -> None:
    topic, dlq = kafka_topics.articles_topic, kafka_topics.articles_dlq_topic
    bad = uuid.uuid4().hex.encode()
    _produce(kafka_topics, topic, [b"a", bad, b"b"])
    handled: list[bytes] = []

    def handler(batch: list[Message]) -> list[Poison]:
        if any(m.value() == bad for m in batch):
            raise ValueError("bug triggered by one message")
        handled.extend(m.value() for m in batch)  # type: ignore[misc]
        return []

    loop = ConsumerLoop(
        kafka_topics,
        name="t3",
        group_id=unique("group"),
        topics=[topic],
        handler=handler,
        dlq_topic=dlq,
        is_transient=lambda exc: not isinstance(exc, ValueError),
        max_attempts=2,
        max_backoff=0.2,
        batch_timeout=0.2,
    )
    thread = _run(loop)
    eventually(lambda: sorted(handled) == [b"a", b"b"], timeout=30)
    dead = read_topic(kafka_topics, dlq, until=lambda ms: len(ms) >= 1)
    assert dead[0].value() == bad
    assert dict(dead[0].headers() or [])["dlq.reason"] == b"handler-failed"
    loop.stop()
    thread.join(15)


def test_nothing_is_taken_while_held_and_everything_once_released(kafka_topics: KafkaSettings) -> None:
    topic = kafka_topics.articles_topic
    values = [f"held-{i}".encode() for i in range(10)]
    _produce(kafka_topics, topic, values)
    handled: list[bytes] = []
    held = threading.Event()
    held.set()
    asked = {"n": 0}

    def hold() -> bool:
        asked["n"] += 1
        return held.is_set()

    def handler(batch: list[Message]) -> list[Poison]:
        handled.extend(m.value() for m in batch)  # type: ignore[misc]
        return []

    loop = ConsumerLoop(
        kafka_topics,
        name="t",
        group_id=unique("group"),
        topics=[topic],
        handler=handler,
        batch_timeout=0.2,
        hold=hold,
        hold_check_s=0.05,
    )
    thread = _run(loop)
    try:
        eventually(lambda: asked["n"] >= 20, timeout=10)  # held for a second at least
        assert handled == []
        held.clear()
        eventually(lambda: len(handled) == 10, timeout=30)
        assert sorted(handled) == sorted(values)
    finally:
        loop.stop()
        thread.join(15)


def _committed(settings: KafkaSettings, group: str, topic: str) -> int:
    """How many messages of ``topic`` the group has committed, summed over its partitions."""
    consumer = Consumer({"bootstrap.servers": settings.bootstrap_servers, "group.id": group})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        partitions = [TopicPartition(topic, p) for p in metadata.partitions]
        return sum(max(tp.offset, 0) for tp in consumer.committed(partitions, timeout=10))
    finally:
        consumer.close()


def test_a_deferred_step_overlaps_the_next_batch_and_offsets_wait_for_it(kafka_topics: KafkaSettings) -> None:
    topic = kafka_topics.articles_topic
    values = [f"d-{i}".encode() for i in range(6)]
    _produce(kafka_topics, topic, values[:2])
    events: list[tuple[str, int]] = []
    release = threading.Event()
    batches = {"n": 0}

    def handler(_batch: list[Message]) -> Deferred:
        n = batches["n"] = batches["n"] + 1
        events.append(("handle", n))

        def step() -> None:
            events.append(("step", n))
            if n == 1:
                release.wait(30)  # the first batch's step holds until the test lets it go
            events.append(("stepped", n))

        return Deferred([], step)

    group = unique("group")
    loop = ConsumerLoop(
        kafka_topics, name="td", group_id=group, topics=[topic], handler=handler, batch_size=100, batch_timeout=0.1,
        **{"auto.commit.interval.ms": 100},
    )  # fmt: skip
    thread = _run(loop)
    try:
        eventually(lambda: ("step", 1) in events, timeout=30)
        _produce(kafka_topics, topic, values[2:])
        eventually(lambda: ("handle", 2) in events, timeout=30)  # the next batch is handled meanwhile ...
        time.sleep(1)  # ... but nothing is committed while the first step runs (commits every 0.1 s)
        assert _committed(kafka_topics, group, topic) == 0
        assert ("step", 2) not in events  # steps run one at a time, in batch order
        release.set()
        eventually(lambda: ("stepped", 2) in events, timeout=30)
        eventually(lambda: _committed(kafka_topics, group, topic) == 6, timeout=30)
        assert events.index(("stepped", 1)) < events.index(("step", 2))
    finally:
        release.set()
        loop.stop()
        thread.join(15)


def test_a_failed_deferred_step_handles_its_batch_again_before_storing(kafka_topics: KafkaSettings) -> None:
    topic = kafka_topics.articles_topic
    values = [f"f-{i}".encode() for i in range(5)]
    _produce(kafka_topics, topic, values)
    handled: list[list[bytes]] = []
    stepped: list[list[bytes]] = []
    failures = {"left": 1}

    def handler(batch: list[Message]) -> Deferred:
        seen = [m.value() or b"" for m in batch]
        handled.append(seen)

        def step() -> None:
            if failures["left"]:
                failures["left"] -= 1
                raise ConnectionError("store is down")
            stepped.append(seen)

        return Deferred([], step)

    group = unique("group")
    loop = ConsumerLoop(
        kafka_topics, name="tf", group_id=group, topics=[topic], handler=handler, batch_size=100, batch_timeout=0.1,
    )  # fmt: skip
    thread = _run(loop)
    eventually(lambda: sorted(v for s in stepped for v in s) == sorted(values), timeout=30)
    loop.stop()
    thread.join(15)
    assert sorted(v for s in handled for v in s) == sorted(values + handled[0])  # the failed batch came again
    assert _committed(kafka_topics, group, topic) == 5
