"""Each replica reads ``articles.v1`` and ``comments.v1`` whole, from the end, in its own thread.

No consumer group is joined: the thread assigns itself every partition at its current high
watermark, so there is no rebalance to wait for, every replica sees every event and nothing is ever
committed (a restarted replica starts at the end again; subscribers resume from ingest instead).
Partitions added to a topic later are picked up on restart. Batches go to the event loop with
``call_soon_threadsafe``.
"""

import asyncio
import logging
import os
import threading
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition
from pydantic import ValidationError

from newsflow_contracts import ArticleData, CommentData, Envelope
from newsflow_gateway.metrics import STREAM_EVENTS
from newsflow_gateway.streams.events import ArticleEvent, CommentEvent
from newsflow_kit.settings import KafkaSettings

log = logging.getLogger(__name__)


class BroadcastConsumer:
    def __init__(
        self,
        settings: KafkaSettings,
        *,
        loop: asyncio.AbstractEventLoop,
        on_articles: Callable[[list[ArticleEvent]], None],
        on_comments: Callable[[list[CommentEvent]], None],
    ) -> None:
        self._settings = settings
        self._loop = loop
        self._on_articles, self._on_comments = on_articles, on_comments
        self._stop = threading.Event()
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stream-consumer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self._settings.bootstrap_servers,
                "group.id": f"gateway-stream-{os.getpid()}-{os.urandom(4).hex()}",  # never joined
                "client.id": "gateway-stream",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "fetch.wait.max.ms": 10,
            }
        )
        try:
            self._assign_at_end(consumer)
            while not self._stop.is_set():
                # poll() returns as soon as one message is there; consume(…, 0) takes what else is ready.
                first = consumer.poll(0.2)
                if first is not None:
                    self._dispatch([first, *consumer.consume(499, 0)])
        except Exception:
            log.exception("stream consumer failed")
            raise
        finally:
            consumer.close()
            log.info("stream consumer closed")

    def _assign_at_end(self, consumer: Consumer) -> None:
        topics = [self._settings.articles_topic, self._settings.comments_topic]
        while not self._stop.is_set():
            try:
                partitions = []
                for topic in topics:
                    meta = consumer.list_topics(topic, timeout=5).topics[topic]
                    if meta.error is not None:
                        raise KafkaException(meta.error)
                    for p in sorted(meta.partitions):
                        _low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)
                        partitions.append(TopicPartition(topic, p, high))
                consumer.assign(partitions)
                self.ready.set()
                log.info("stream consumer reading %s from the end (%d partitions)", ",".join(topics), len(partitions))
                return
            except KafkaException as exc:
                log.warning("stream consumer cannot assign yet: %s", exc)
                self._stop.wait(1.0)

    def _dispatch(self, messages: list[Message]) -> None:
        articles: list[ArticleEvent] = []
        comments: list[CommentEvent] = []
        for msg in messages:
            if msg.error() is not None:
                log.warning("stream consumer: %s", msg.error())
                continue
            try:
                if msg.topic() == self._settings.articles_topic:
                    article = Envelope[ArticleData].model_validate_json(msg.value() or b"")
                    articles.append(ArticleEvent(article.event_type.value, article.data))
                else:
                    comment = Envelope[CommentData].model_validate_json(msg.value() or b"")
                    comments.append(CommentEvent(comment.event_type.value, comment.data))
            except ValidationError as exc:
                log.warning("stream consumer: skipping undecodable %s@%s: %s", msg.topic(), msg.offset(), exc)
        if articles:
            STREAM_EVENTS.labels("articles").inc(len(articles))
            self._loop.call_soon_threadsafe(self._on_articles, articles)
        if comments:
            STREAM_EVENTS.labels("comments").inc(len(comments))
            self._loop.call_soon_threadsafe(self._on_comments, comments)
