"""The at-least-once consumer loop every worker runs.

    poll a batch ─► [hold?] ─► handler(batch) ─► poison → dead-letter topic (acknowledged) ─► store offsets
                        │
                        └─ raises: pause partitions, back off, retry the same batch (nothing stored)

Offsets are stored only after the handler returned, i.e. after its effect is durable; librdkafka
commits stored offsets in the background and on close. A handler reports messages that can never
succeed (undecodable, schema-invalid, rejected by the store) as :class:`Poison`; a batch that keeps
raising something non-transient is retried ``max_attempts`` times, then split so that only the
messages that fail alone are dead-lettered. An optional ``hold`` is asked once a batch has arrived and
before it is handled: while it says so the loop keeps the batch in hand and takes nothing more (a
lower-priority consumer giving way to another). Asked after the poll, not before, because a burst
begins with the batch itself: a hold asked before it saw the quiet that came before the burst.

A handler may return :class:`Deferred`: the last step of its batch then runs in the loop's one
background thread while the next batch is handled (the embedder's story clustering overlaps the next
batch's model work). Deferred steps run one at a time in batch order, and a batch's offsets are
stored only once its step returned, before any later batch's. A step that raises is not retried on
its own: the whole batch is handled again in the loop's thread, step included, with the retries,
isolation and dead letters above, so the handler and its step must be idempotent (at least once).
"""

import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from newsflow_kit import shutdown
from newsflow_kit.kafka import producer_config
from newsflow_kit.metrics import CONSUMED, CONSUMER_RETRIES, DEAD_LETTERED
from newsflow_kit.settings import KafkaSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Poison:
    """A message that can never be handled, with the reason that goes into the DLQ headers."""

    message: Message
    reason: str
    error: str


@dataclass(frozen=True)
class Deferred:
    """A handled batch whose ``step`` is left to run while the next batch is handled (module docstring)."""

    poison: list[Poison]
    step: Callable[[], None]


Handler = Callable[[list[Message]], list[Poison] | Deferred]


def consumer_config(settings: KafkaSettings, *, group_id: str, client_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.bootstrap_servers,
        "group.id": group_id,
        "client.id": client_id,
        "enable.auto.commit": True,
        "enable.auto.offset.store": False,  # we store after the effect is durable
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 2000,
        # librdkafka prefetches up to 64 MB per consumer by default: a consumer that trails by design
        # (the niced embedder under load) grew its RSS by that much. 8 MB is still thousands of
        # articles ahead of any batch.
        "queued.max.messages.kbytes": 8192,
        # A broker that stalls (GC pause, SIGSTOP in the fault matrix) while a connection is being set
        # up made its ApiVersionRequest time out after the default 10 s; librdkafka then kept the
        # group coordinator's connection in a state it never left (requests queued for 13 minutes, the
        # worker never rejoined its group). A minute covers the fault matrix's 30 s freeze.
        "api.version.request.timeout.ms": 60000,
        **overrides,
    }


class ConsumerLoop:
    """Runs ``handler`` over batches from ``topics`` until :meth:`stop`; see the module docstring."""

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        name: str,
        group_id: str,
        topics: list[str],
        handler: Handler,
        dlq_topic: str | None = None,
        is_transient: Callable[[BaseException], bool] = lambda exc: True,
        batch_size: int = 500,
        batch_timeout: float = 0.5,
        max_attempts: int = 5,
        max_backoff: float = 15.0,
        hold: Callable[[], bool] | None = None,
        hold_check_s: float = 0.5,
        **overrides: Any,
    ) -> None:
        self.name = name
        self.topics = topics
        self.handler = handler
        self.dlq_topic = dlq_topic
        self.is_transient = is_transient
        self.batch_size = batch_size
        self.batch_timeout = batch_timeout
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self.hold = hold
        self.hold_check_s = hold_check_s
        self._stop = threading.Event()
        self._consumer = Consumer(
            consumer_config(settings, group_id=group_id, client_id=name, **overrides),
        )
        self._dlq = Producer(producer_config(settings, client_id=f"{name}-dlq")) if dlq_topic else None
        self._deferred: ThreadPoolExecutor | None = None
        self._pending: tuple[list[Message], Future[None]] | None = None

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """Consumes until stopped; then closes the consumer, which commits the stored offsets."""
        self._consumer.subscribe(self.topics, on_revoke=self._on_revoke, on_lost=self._on_lost)
        log.info("consumer %s subscribed to %s", self.name, ",".join(self.topics))
        try:
            while not self._stop.is_set():
                self._settle(wait=False)
                batch = self._poll_batch()
                if not batch or not self._released():
                    continue
                handled, step = self._process(batch)
                if not handled:
                    continue
                self._settle(wait=True)  # offsets in batch order: the previous batch's go first
                if step is None:
                    self._store(batch)
                else:
                    self._defer(batch, step)
        finally:
            log.info("consumer %s stopping: committing and closing", self.name)
            self._settle(wait=True)
            if self._deferred is not None:
                self._deferred.shutdown()
            self._consumer.close()
            if self._dlq is not None:
                self._dlq.flush(10)
            log.info("consumer %s closed", self.name)

    def _released(self) -> bool:
        """Waits while ``hold`` says so; False when stopped meanwhile (the batch in hand comes again).

        Nothing is polled while held: librdkafka heartbeats by itself, and a hold must stay well under
        max.poll.interval.ms (5 min); the caller bounds it."""
        while self.hold is not None and self.hold():
            self._settle(wait=False)
            if self._stop.wait(self.hold_check_s):
                return False
        return True

    def _defer(self, batch: list[Message], step: Callable[[], None]) -> None:
        if self._deferred is None:
            self._deferred = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-deferred")
        self._pending = (batch, self._deferred.submit(step))

    def _settle(self, *, wait: bool) -> None:
        """Stores the offsets of the batch whose deferred step has returned (``wait``: once it has).

        A step that raised makes the loop handle its batch again, step included, in this thread."""
        if self._pending is None:
            return
        batch, future = self._pending
        if not wait and not future.done():
            return
        self._pending = None
        try:
            future.result()
        except Exception as exc:
            CONSUMER_RETRIES.labels(self.name).inc()
            log.warning("consumer %s: deferred step of a batch of %d failed: %s", self.name, len(batch), exc)
            if not self._process(batch, inline=True)[0]:
                return  # stopped first: not stored, the batch comes again
        self._store(batch)

    def _poll_batch(self) -> list[Message]:
        """What has arrived, up to ``batch_size``, as soon as one message has (``batch_timeout`` at most).

        Batches fill by themselves under load (messages queue while a batch is handled); a trickle
        is handled at once instead of waiting for a batch that will not fill: at 20 articles/s the
        indexing worker used to hold each article for up to ``batch_timeout`` (0.5 s) first.
        """
        messages = self._consumer.consume(1, self.batch_timeout)
        if messages and self.batch_size > 1:
            messages += self._consumer.consume(self.batch_size - 1, 0)  # already fetched: no wait
        batch = []
        for msg in messages:
            err = msg.error()
            if err is None:
                batch.append(msg)
            elif err.code() != KafkaError._PARTITION_EOF:
                log.warning("consumer %s: %s", self.name, err)
        return batch

    def _process(self, batch: list[Message], *, inline: bool = False) -> tuple[bool, Callable[[], None] | None]:
        """Handles a batch until its effect is durable but for a deferred step, returned unless ``inline``
        (then run here); (False, None) only when stopped before that."""
        attempt = 0
        while True:
            try:
                poison, step = _split(self.handler(batch))
                if step is not None and inline:
                    step()
                    step = None
                self._dead_letter(poison)
                CONSUMED.labels(self.name).inc(len(batch))
                return True, step
            except Exception as exc:
                attempt += 1
                CONSUMER_RETRIES.labels(self.name).inc()
                transient = self.is_transient(exc)
                log.warning(
                    "consumer %s: batch of %d failed (attempt %d, %s): %s",
                    self.name,
                    len(batch),
                    attempt,
                    "transient" if transient else "permanent?",
                    exc,
                )
                if not transient and attempt >= self.max_attempts:
                    return self._process_one_by_one(batch), None
                if not self._backoff(attempt):
                    return False, None

    def _process_one_by_one(self, batch: list[Message]) -> bool:
        """Isolates the messages that fail alone; they go to the DLQ, the rest is handled."""
        for msg in batch:
            for attempt in range(1, self.max_attempts + 1):
                try:
                    poison, step = _split(self.handler([msg]))
                    if step is not None:
                        step()
                    self._dead_letter(poison)
                    break
                except Exception as exc:
                    if self.is_transient(exc):
                        if not self._backoff(attempt):
                            return False
                        continue
                    if attempt == self.max_attempts:
                        self._dead_letter([Poison(msg, "handler-failed", f"{type(exc).__name__}: {exc}")])
            CONSUMED.labels(self.name).inc()
        return True

    def _backoff(self, attempt: int) -> bool:
        """Sleeps (full jitter, capped) with the partitions paused so the group keeps us alive."""
        delay = random.uniform(0, min(self.max_backoff, 0.2 * 2**attempt))
        assignment = self._consumer.assignment()
        if assignment:
            self._consumer.pause(assignment)
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not self._stop.is_set():
            self._consumer.poll(min(0.2, max(0.0, deadline - time.monotonic())))
        assignment = self._consumer.assignment()
        if assignment:
            self._consumer.resume(assignment)
        return not self._stop.is_set()

    def _dead_letter(self, poison: list[Poison]) -> None:
        if not poison:
            return
        if self._dlq is None or self.dlq_topic is None:
            for p in poison:
                log.error(
                    "consumer %s: dropping poison message at %s[%s]@%s: %s",
                    self.name,
                    p.message.topic(),
                    p.message.partition(),
                    p.message.offset(),
                    p.error,
                )
                DEAD_LETTERED.labels(self.name, p.reason).inc()
            return
        failures: list[KafkaError] = []
        for p in poison:
            msg = p.message
            headers: list[tuple[str, str | bytes | None]] = [(str(h[0]), h[1]) for h in (msg.headers() or [])] + [
                ("dlq.reason", p.reason.encode()),
                ("dlq.error", p.error[:1000].encode("utf-8", "replace")),
                ("dlq.topic", (msg.topic() or "").encode()),
                ("dlq.partition", str(msg.partition()).encode()),
                ("dlq.offset", str(msg.offset()).encode()),
                ("dlq.consumer", self.name.encode()),
                ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
            ]

            def delivered(err: KafkaError | None, _msg: Message) -> None:
                if err is not None:
                    failures.append(err)

            self._dlq.produce(self.dlq_topic, key=msg.key(), value=msg.value(), headers=headers, on_delivery=delivered)
            log.error(
                "consumer %s: dead-lettered %s[%s]@%s (%s): %s",
                self.name,
                msg.topic(),
                msg.partition(),
                msg.offset(),
                p.reason,
                p.error,
            )
            DEAD_LETTERED.labels(self.name, p.reason).inc()
        if self._dlq.flush(30) or failures:
            raise KafkaException(failures[0] if failures else KafkaError(KafkaError._TIMED_OUT))

    def _store(self, batch: list[Message]) -> None:
        for msg in batch:
            try:
                self._consumer.store_offsets(msg)
            except KafkaException as exc:  # partition revoked meanwhile: its new owner replays it
                log.info("consumer %s: offset not stored (%s)", self.name, exc)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        try:
            consumer.commit(asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError._NO_OFFSET:
                log.warning("consumer %s: commit on revoke failed: %s", self.name, exc)
        log.info("consumer %s: revoked %d partitions", self.name, len(partitions))

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.warning("consumer %s: lost %d partitions", self.name, len(partitions))


def _split(result: list[Poison] | Deferred) -> tuple[list[Poison], Callable[[], None] | None]:
    return (result.poison, result.step) if isinstance(result, Deferred) else (result, None)


class Loop(Protocol):
    """A role's blocking loop: ``run`` until ``stop`` (a :class:`ConsumerLoop`, the index summarizer)."""

    name: str

    def run(self) -> None: ...

    def stop(self) -> None: ...


def run_until_signalled(loop: Loop) -> None:
    """Runs the loop in this thread; SIGTERM/SIGINT stop intake, the batch in hand finishes (offsets commit)."""

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s: stopping %s", signal.Signals(signum).name, loop.name)
        loop.stop()
        shutdown.arm()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    loop.run()
