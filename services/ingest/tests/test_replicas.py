"""Issue 9.2: two ingest API replicas (real processes) taking 50 concurrent edits of one article.

Versions 1..51 with no gap or duplicate, a gap-free change cursor, and the last edit is what MongoDB,
``articles.v1`` and Elasticsearch (through a real index worker process) hold.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from elasticsearch import Elasticsearch

from newsflow_contracts import ArticleData, Envelope
from newsflow_kit.settings import ElasticsearchSettings, KafkaSettings, MongoSettings
from newsflow_kit.testing import ServiceProcess, eventually, read_topic, settings_env

EDITS = 50
URL = "https://wire.example/contested"


def _edit(n: int) -> dict[str, Any]:
    return {"title": f"Contested story, edit {n}", "url": URL, "body": f"<p>Edit number {n} of the story.</p>"}


def test_two_replicas_fifty_concurrent_edits(
    service_process: Callable[..., ServiceProcess],
    kafka_topics: KafkaSettings,
    mongo_database: MongoSettings,
    es_alias: ElasticsearchSettings,
) -> None:
    env = settings_env(kafka=kafka_topics, mongo=mongo_database, es=es_alias)
    replicas = [service_process("newsflow-ingest", "api", env=env) for _ in range(2)]
    service_process("newsflow-index", "worker", env=env, http=False)
    source = httpx.post(f"{replicas[0].url}/sources", json={"name": "wire", "kind": "push"}).json()["id"]
    first = httpx.post(f"{replicas[1].url}/articles", json={**_edit(0), "source_id": source}, timeout=30)
    assert first.status_code == 201, first.text
    article_id = first.json()["id"]

    def edit(n: int) -> dict[str, Any]:
        resp = httpx.post(f"{replicas[n % 2].url}/articles", json={**_edit(n), "source_id": source}, timeout=120)
        assert resp.status_code == 200, resp.text
        return {**resp.json(), "n": n}

    with ThreadPoolExecutor(EDITS) as pool:
        answers = list(pool.map(edit, range(1, EDITS + 1)))
    assert sorted(a["version"] for a in answers) == list(range(2, EDITS + 2))  # no gap, no duplicate
    last = next(a["n"] for a in answers if a["version"] == EDITS + 1)

    changes = httpx.get(f"{replicas[0].url}/articles", params={"since": 0, "limit": 500}).json()["items"]
    assert [c["seq"] for c in changes] == list(range(1, EDITS + 2))  # the cursor has no hole either
    assert [c["version"] for c in changes] == list(range(1, EDITS + 2))  # committed in version order
    for replica in replicas:
        stored = httpx.get(f"{replica.url}/articles/{article_id}").json()
        assert stored["version"] == EDITS + 1 and stored["title"] == f"Contested story, edit {last}"

    def newest_on_topic() -> Envelope[ArticleData]:
        messages = read_topic(
            kafka_topics, kafka_topics.articles_topic, until=lambda ms: len(ms) >= EDITS + 1, timeout=60
        )
        events = [Envelope[ArticleData].model_validate_json(m.value() or b"") for m in messages]
        assert sorted({e.data.version for e in events}) == list(range(1, EDITS + 2))
        return max(events, key=lambda e: e.data.version)

    assert newest_on_topic().data.title == f"Contested story, edit {last}"

    es = Elasticsearch(es_alias.url)
    try:

        def indexed() -> dict[str, Any]:
            doc: dict[str, Any] = es.get(index=es_alias.alias, id=article_id)["_source"]
            assert doc["version"] == EDITS + 1
            return doc

        assert f"Contested story, edit {last}" in str(eventually(indexed, timeout=60))
    finally:
        es.close()
