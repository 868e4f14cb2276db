"""Helpers of the comments tests: an app on private topics and database, articles, posting."""

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from confluent_kafka import Producer
from fastapi.testclient import TestClient
from pymongo import MongoClient

from newsflow_comments.context import utcnow
from newsflow_comments.main import create_app
from newsflow_comments.scores import ScoreFolder
from newsflow_comments.settings import CommentsSettings, Settings
from newsflow_comments.store import ArticleRefs
from newsflow_contracts import ArticleData, ArticleStatus, EventType, new_event
from newsflow_kit.kafka import encode, producer_config
from newsflow_kit.settings import KafkaSettings, MongoSettings
from newsflow_kit.testing import ServiceProcess, article_data, settings_env, unique

OPEN_POLICY = {"premoderate_new_authors": False, "max_links": 2, "banned_words": [], "spam_heuristics": True}


def article(article_id: str, *, version: int = 1, status: ArticleStatus = ArticleStatus.PUBLISHED) -> ArticleData:
    return article_data(article_id, version=version, status=status)


def produce_articles(kafka: KafkaSettings, *articles: ArticleData) -> None:
    """Publishes article events to the private articles topic, as the ingest relay would."""
    producer = Producer(producer_config(kafka, client_id=unique("test-articles")))
    for a in articles:
        kind = EventType.ARTICLE_RETRACTED if a.status is ArticleStatus.RETRACTED else EventType.ARTICLE_PUBLISHED
        value, headers = encode(new_event(kind, a, producer="tests"))
        producer.produce(kafka.articles_topic, key=a.id.encode(), value=value, headers=headers)
    assert producer.flush(15) == 0


class Api:
    """A started comments app and shortcuts for the calls tests make again and again."""

    def __init__(self, client: TestClient, mongo: MongoSettings, kafka: KafkaSettings) -> None:
        self.client = client
        self.kafka = kafka
        self.mongo: MongoClient[dict[str, Any]] = MongoClient(mongo.uri, tz_aware=True)
        self.db = self.mongo[mongo.database]

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.mongo.close()

    def known(self, *article_ids: str, status: ArticleStatus = ArticleStatus.PUBLISHED) -> None:
        """Makes articles known through the projection function (what the consumer thread calls)."""
        ArticleRefs(self.db).apply([article(a, status=status) for a in article_ids])

    def produce(self, article_id: str, *, version: int = 1, status: ArticleStatus = ArticleStatus.PUBLISHED) -> None:
        """Publishes an article event to the private articles topic (the consumer thread projects it)."""
        produce_articles(self.kafka, article(article_id, version=version, status=status))

    def fold_scores(self) -> None:
        """One pass of the worker's score folding (the same code the ``worker`` role runs)."""
        store = self.client.app.state.context.store  # type: ignore[attr-defined]
        self.client.portal.call(ScoreFolder(store, margin_s=60, now=utcnow).run_once)  # type: ignore[union-attr]

    def policy(self, **changes: Any) -> None:
        r = self.client.put("/moderation/policy", json={**OPEN_POLICY, **changes})
        assert r.status_code == 200, r.text

    def post(
        self, article_id: str, body: str, *, name: str = "Ann", ip: str = "10.0.0.1", parent: str | None = None
    ) -> httpx.Response:
        payload: dict[str, Any] = {"author_name": name, "body": body}
        if parent is not None:
            payload["parent_id"] = parent
        return self.client.post(
            f"/articles/{article_id}/comments", json=payload, headers={"X-Client-IP": ip, "User-Agent": "pytest"}
        )

    def posted(self, article_id: str, body: str, **kwargs: Any) -> dict[str, Any]:
        r = self.post(article_id, body, **kwargs)
        assert r.status_code == 201, r.text
        created: dict[str, Any] = r.json()
        return created

    def thread(self, article_id: str, **params: Any) -> dict[str, Any]:
        r = self.client.get(f"/articles/{article_id}/comments", params=params)
        assert r.status_code == 200, r.text
        page: dict[str, Any] = r.json()
        return page

    def count(self, article_id: str) -> int:
        return int(self.client.get(f"/articles/{article_id}/comments/count").json()["count"])


@pytest.fixture
def make_api(kafka_topics: KafkaSettings, mongo_database: MongoSettings) -> Iterator[Callable[..., Api]]:
    """Factory: ``make_api(edit_window_s=1)`` → a started app (its lifespan runs) with an open policy.

    The app answers HTTP only; tests that need events or the articles projection start the
    ``worker`` / ``projection`` roles as processes (fixtures below)."""
    apis: list[Api] = []

    def make(**comments: Any) -> Api:
        # Tests read what they just changed behind the app's back (the store, the worker's folding):
        # the thread cache is off unless a test turns it on (its own tests, in test_budget.py, do).
        config = CommentsSettings(**({"thread_cache_s": 0} | comments))
        settings = Settings(kafka=kafka_topics, mongo=mongo_database, comments=config)
        client = TestClient(create_app(settings))
        client.__enter__()
        api = Api(client, mongo_database, kafka_topics)
        apis.append(api)
        api.policy()
        return api

    yield make
    for api in apis:
        api.close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


def role_env(kafka: KafkaSettings, mongo: MongoSettings, **extra: str) -> dict[str, str]:
    return {
        **settings_env(kafka=kafka, mongo=mongo),
        "NEWSFLOW_COMMENTS__PROJECTION_GROUP": unique("comments-articles"),
        "NEWSFLOW_COMMENTS__OUTBOX_SWEEP_S": "0.2",
        **extra,
    }


@pytest.fixture
def comments_role(
    service_process: Callable[..., ServiceProcess], kafka_topics: KafkaSettings, mongo_database: MongoSettings
) -> Callable[..., ServiceProcess]:
    """Factory: ``comments_role("worker", NEWSFLOW_X="1")`` → that role as its own process, on the test's
    topics and database, as in production (``api`` waits until ready)."""

    def start(role: str, **env: str) -> ServiceProcess:
        full = role_env(kafka_topics, mongo_database, **env)
        return service_process("newsflow-comments", role, env=full, http=role == "api")

    return start


@pytest.fixture
def worker(comments_role: Callable[..., ServiceProcess]) -> ServiceProcess:
    """The ``worker`` role (events, scores, clean-up)."""
    return comments_role("worker")
