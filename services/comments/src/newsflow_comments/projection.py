"""``newsflow-comments projection``: the service's own view of articles.v1 (which articles exist
and which are retracted).

A :class:`ConsumerLoop` (group ``COMMENTS__PROJECTION_GROUP``) upserts ``article_refs``
{_id, status, version}; only a newer version wins, so replays and reordering are harmless. The
articles topic is keyed by article id, so one consumer of the group owns an article at a time: its
conditional upsert has no concurrent writer, on FerretDB too. Scale it up to the topic's partitions.
No call to ingest on the write path.
"""

from collections.abc import Callable

from confluent_kafka import Message
from pydantic import ValidationError

from newsflow_comments.store import ArticleRefs
from newsflow_contracts import ArticleData, Envelope
from newsflow_kit.consumer import Poison


def handler(refs: ArticleRefs) -> Callable[[list[Message]], list[Poison]]:
    """The consumer loop's batch handler: valid events are projected, the rest are poison (dead-lettered)."""

    def handle(batch: list[Message]) -> list[Poison]:
        articles, poison = [], []
        for msg in batch:
            try:
                articles.append(Envelope[ArticleData].model_validate_json(msg.value() or b"").data)
            except ValidationError as exc:
                poison.append(Poison(msg, "schema-invalid", str(exc)[:500]))
        refs.apply(articles)
        return poison

    return handle
