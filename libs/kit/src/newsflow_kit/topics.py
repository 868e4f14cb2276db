"""``newsflow-topics``: creates the platform's Kafka topics (idempotent); `make infra` runs it.

Topic names come from the settings (``NEWSFLOW_KAFKA__ARTICLES_TOPIC`` and the others), so a
deployment that renames a topic gets that topic created, with the contract's partitions and config.
"""

import argparse
import logging
from dataclasses import replace

from newsflow_contracts import ARTICLES, ARTICLES_DLQ, COMMENTS, TopicSpec
from newsflow_kit.kafka import ensure_topics
from newsflow_kit.logging import configure_logging
from newsflow_kit.settings import KafkaSettings, ServiceSettings


def configured_topics(kafka: KafkaSettings) -> list[TopicSpec]:
    """The contract's topics under the names these settings give them."""
    return [
        replace(ARTICLES, name=kafka.articles_topic),
        replace(COMMENTS, name=kafka.comments_topic),
        replace(ARTICLES_DLQ, name=kafka.articles_dlq_topic),
    ]


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(prog="newsflow-topics", description=__doc__).parse_args(argv)
    settings = ServiceSettings()
    configure_logging("topics", level=settings.log_level, json=False)
    topics = configured_topics(settings.kafka)
    ensure_topics(settings.kafka, topics)
    logging.getLogger(__name__).info("topics ready: %s", ", ".join(t.name for t in topics))
