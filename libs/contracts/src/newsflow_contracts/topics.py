"""Kafka topics: names are contracts; partitions and cleanup policy are created from here."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TopicSpec:
    """A topic as the platform creates it (explicitly: auto-creation is off on the broker)."""

    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


# Compacted: the latest version of every article stays forever, so the topic is a replayable
# changelog from which a new consumer group (or `newsflow-index reindex`) rebuilds everything.
ARTICLES = TopicSpec(
    "articles.v1",
    partitions=6,
    config={"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"},
)
# Key = article id so one thread stays ordered; kept for a week (comments live in MongoDB).
COMMENTS = TopicSpec("comments.v1", partitions=6, config={"retention.ms": str(7 * 24 * 3600 * 1000)})
# Poison messages from the index worker, with the error in headers; re-driven by a CLI.
ARTICLES_DLQ = TopicSpec("articles.v1.dlq", partitions=1, config={"retention.ms": str(30 * 24 * 3600 * 1000)})


def all_topics() -> list[TopicSpec]:
    """Every topic the platform needs."""
    return [ARTICLES, COMMENTS, ARTICLES_DLQ]
