"""``newsflow-topics`` creates the topics under the names the settings give them."""

import pytest

from newsflow_contracts import ARTICLES, COMMENTS
from newsflow_kit.kafka import admin
from newsflow_kit.settings import KafkaSettings
from newsflow_kit.testing import delete_private_topics, eventually, private_topics, unique
from newsflow_kit.topics import main


def test_topic_names_come_from_the_settings(kafka_settings: KafkaSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    named = kafka_settings.model_copy(update={
        "articles_topic": unique("renamed-articles"),
        "comments_topic": unique("renamed-comments"),
        "articles_dlq_topic": unique("renamed-dlq"),
    })  # fmt: skip
    monkeypatch.setenv("NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS", named.bootstrap_servers)
    monkeypatch.setenv("NEWSFLOW_KAFKA__ARTICLES_TOPIC", named.articles_topic)
    monkeypatch.setenv("NEWSFLOW_KAFKA__COMMENTS_TOPIC", named.comments_topic)
    monkeypatch.setenv("NEWSFLOW_KAFKA__ARTICLES_DLQ_TOPIC", named.articles_dlq_topic)
    try:
        main([])
        topics = admin(named).list_topics(timeout=10).topics
        assert len(topics[named.articles_topic].partitions) == ARTICLES.partitions
        assert len(topics[named.comments_topic].partitions) == COMMENTS.partitions
        assert named.articles_dlq_topic in topics
    finally:
        delete_private_topics(named)


def test_private_topics_are_gone_when_their_deletion_returns(kafka_settings: KafkaSettings) -> None:
    """The admin call only queues a deletion; the kit waits for the broker, so nothing piles up."""
    private = private_topics(kafka_settings, unique("gone"))
    names = {private.articles_topic, private.comments_topic, private.articles_dlq_topic}
    delete_private_topics(private)
    eventually(lambda: not set(admin(private).list_topics(timeout=10).topics) & names, timeout=10)
    delete_private_topics(private)  # deleting what is gone already is no error
