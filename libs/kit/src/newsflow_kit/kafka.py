"""Kafka adapters: topic creation, an idempotent producer usable from asyncio, a readiness check."""

import asyncio
import logging
import threading
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from newsflow_contracts import Envelope, TopicSpec
from newsflow_kit.metrics import PUBLISHED
from newsflow_kit.settings import KafkaSettings

log = logging.getLogger(__name__)


def producer_config(settings: KafkaSettings, *, client_id: str, **overrides: Any) -> dict[str, Any]:
    """Idempotent, acks=all: a retried send never duplicates or reorders within a partition."""
    return {
        "bootstrap.servers": settings.bootstrap_servers,
        "client.id": client_id,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": settings.linger_ms,
        "compression.type": "lz4",
        "message.timeout.ms": 30000,
        **overrides,
    }


def admin(settings: KafkaSettings) -> AdminClient:
    return AdminClient({"bootstrap.servers": settings.bootstrap_servers})


def ensure_topics(settings: KafkaSettings, specs: list[TopicSpec], *, timeout: float = 30.0) -> None:
    """Creates the topics that are missing (idempotent; the broker does not auto-create)."""
    client = admin(settings)
    existing = set(client.list_topics(timeout=timeout).topics)
    new = [
        NewTopic(s.name, num_partitions=s.partitions, replication_factor=1, config=s.config)
        for s in specs
        if s.name not in existing
    ]
    if not new:
        return
    for name, future in client.create_topics(new, operation_timeout=timeout).items():
        try:
            future.result()
            log.info("created topic %s", name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise


def delete_topics(settings: KafkaSettings, names: list[str], *, timeout: float = 30.0) -> None:
    """Deletes the topics and waits for the broker's answer (a topic already gone is not an error).

    The admin client's call only queues the request: a client dropped before it was sent deletes
    nothing (its handle is destroyed), which is how private test topics once piled up by the thousand.
    """
    if not names:
        return
    client = admin(settings)  # held until the answers are in: its end cancels what it had queued
    futures = client.delete_topics(names, operation_timeout=timeout)
    for future in futures.values():
        try:
            future.result(timeout)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise


class _KafkaProbe:
    """A metadata round trip to the broker (fails fast when it is down), through a client that is
    replaced after ``renew_after`` failures in a row: after the broker was frozen (SIGSTOP) for 30 s,
    an admin client was seen answering "Broker transport failure" for good while a new one connected
    at once (the fault matrix), and readiness must come back with the broker."""

    def __init__(self, settings: KafkaSettings, *, renew_after: int = 3) -> None:
        self.settings, self.renew_after = settings, renew_after
        self.client = admin(settings)
        self.failures = 0

    async def check(self) -> None:
        try:
            await asyncio.to_thread(self.client.list_topics, timeout=2.0)
        except KafkaException:
            self.failures += 1
            if self.failures >= self.renew_after:
                self.failures = 0
                stale = [self.client]
                self.client = admin(self.settings)
                await asyncio.to_thread(stale.clear)  # the last reference: its end joins its threads
            raise
        self.failures = 0


def kafka_check(settings: KafkaSettings) -> Any:
    return _KafkaProbe(settings).check


def encode(event: Envelope[Any]) -> tuple[bytes, list[tuple[str, str | bytes | None]]]:
    """Value and headers of an event message (headers let tools route without decoding)."""
    headers: list[tuple[str, str | bytes | None]] = [
        ("event_type", event.event_type.value.encode()),
        ("event_id", str(event.event_id).encode()),
    ]
    if event.trace:
        headers.append(("traceparent", event.trace.encode()))
    return event.model_dump_json().encode(), headers


class AsyncPublisher:
    """An idempotent producer whose sends are awaitable futures resolved by the delivery report.

    A background thread serves the producer's callbacks; ``close()`` flushes what is queued.
    """

    def __init__(self, settings: KafkaSettings, *, client_id: str, **overrides: Any) -> None:
        self._producer = Producer(producer_config(settings, client_id=client_id, **overrides))
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name=f"{client_id}-poll", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(0.1)

    async def publish(self, topic: str, key: str, event: Envelope[Any]) -> Message:
        """Sends one event and waits until Kafka acknowledged it (raises KafkaException if not)."""
        value, headers = encode(event)
        msg = await self.send(topic, key, value, headers)
        PUBLISHED.labels(topic, event.event_type.value).inc()
        log.info(
            "published %s",
            event.event_type.value,
            extra={"event_id": str(event.event_id), "topic": topic, "key": key},
        )
        return msg

    async def send(
        self, topic: str, key: str, value: bytes, headers: list[tuple[str, str | bytes | None]] | None = None
    ) -> Message:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Message] = loop.create_future()

        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is not None:
                loop.call_soon_threadsafe(_settle_error, future, KafkaException(err))
            else:
                loop.call_soon_threadsafe(_settle, future, msg)

        while True:
            try:
                self._producer.produce(topic, value=value, key=key.encode(), headers=headers, on_delivery=delivered)
                break
            except BufferError:  # local queue full: let deliveries drain, then retry
                await asyncio.sleep(0.05)
        return await future

    async def close(self, timeout: float = 10.0) -> None:
        """Flushes for up to ``timeout``; what is still undelivered then is dropped (its senders get an
        error) and the client is shut, so it stops retrying a broker long after its owner has gone."""
        remaining = await asyncio.to_thread(self._producer.flush, timeout)
        self._stop.set()
        await asyncio.to_thread(self._poller.join)
        if remaining:
            log.warning("producer closed with %d undelivered messages", remaining)
            self._producer.purge()
            self._producer.poll(0)  # serves the purged messages' delivery reports
        await asyncio.to_thread(self._producer.close)


def _settle(future: "asyncio.Future[Message]", msg: Message) -> None:
    if not future.done():
        future.set_result(msg)


def _settle_error(future: "asyncio.Future[Message]", exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
