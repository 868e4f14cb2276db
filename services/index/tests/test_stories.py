"""Story clusters: the pure link rule and ids (no servers), then the clusterer on the real model and real ES."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from elasticsearch import Elasticsearch

from newsflow_contracts import ArticleData
from newsflow_index import clusterer, stories
from newsflow_index.embedder import write_side
from newsflow_index.embedding import DIMS, E5Embedder, document_text
from newsflow_index.indices import ensure_side_aliases, vectors_alias
from newsflow_index.mapping import side_tombstone, vector_document
from newsflow_index.settings import IndexingSettings
from newsflow_kit.settings import ElasticsearchSettings, KafkaSettings
from newsflow_kit.testing import eventually, settings_env

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)

# Two earthquakes on the same morning (same kind, same vocabulary) and a Porto election: the Porto quake
# is covered in English twice and in Russian once; the other two are single articles.
PORTO = [
    (
        "porto-1",
        "en",
        "ledger",
        "Magnitude 6.1 earthquake strikes Porto",
        "An earthquake of magnitude 6.1 struck Porto early on Tuesday, collapsing the roof of the central "
        "railway station. At least 30 people were hurt, according to mayor Clara Moreau, who ordered schools closed.",
    ),
    (
        "porto-2",
        "en",
        "metro",
        "Strong quake shakes Porto, collapsing the roof of the central railway station",
        "A magnitude 6.1 quake hit the Porto area before dawn on Tuesday, collapsing the roof of the central "
        "railway station. Mayor Clara Moreau said at least 30 people were injured and buildings were evacuated.",
    ),
    (
        "porto-3",
        "ru",
        "vesti",
        "Землетрясение магнитудой 6.1 произошло в городе Порту",
        "Во вторник рано утром в городе Порту произошло землетрясение магнитудой 6.1, обрушив крышу центрального "
        "вокзала. Мэр Клара Моро сообщил, что число пострадавших достигло 30, школы закрыты.",
    ),
]
OSAKA = (
    "osaka-1",
    "en",
    "post",
    "Magnitude 5.2 earthquake strikes Osaka",
    "An earthquake of magnitude 5.2 struck Osaka early on Tuesday, cracking the dam above the valley. "
    "At least 12 people were hurt, according to mayor Kenji Mori, who ordered schools closed.",
)
VOTE = (
    "vote-1",
    "en",
    "post",
    "Ines Duarte wins mayoral election in Porto",
    "Ines Duarte won the mayoral election in Porto on Sunday with 54% of the vote, after a campaign about housing.",
)


def make(item: tuple[str, str, str, str, str], *, minutes: int = 0, version: int = 1) -> ArticleData:
    article_id, language, source, title, body = item
    when = T0 + timedelta(minutes=minutes)
    return ArticleData(
        id=article_id,
        version=version,
        seq=version,
        source_id=source,
        source_name=source.title(),
        url=f"https://example.com/{article_id}",
        canonical_url=f"https://example.com/{article_id}",
        title=title,
        body_text=body,
        language=language,
        published_at=when,
        updated_at=when,
    )


def profile(article_id: str, language: str, names: list[str], *, hours: float = 0) -> stories.Profile:
    return stories.Profile(article_id, language, T0 + timedelta(hours=hours), tuple(sorted(names)))


# -- pure logic, no servers ------------------------------------------------------------------------------


def test_names_and_numbers_match_across_scripts() -> None:
    assert stories.name_key("Porto") == stories.name_key("Порту")
    assert stories.name_key("Clara") == stories.name_key("Клара")
    assert stories.name_key("Lindqvist") == stories.name_key("Линдквист")
    en = stories.entities(PORTO[0][3], PORTO[0][4])
    ru = stories.entities(PORTO[2][3], PORTO[2][4].replace("6.1", "6,1"))
    assert {"#6.1", "#30", "port", "klar"} <= set(en) & set(ru)
    assert "tues" not in en and "seis" not in stories.entities("x", "Quake. Seismologists counted aftershocks.")


def test_link_rule_needs_vectors_entities_and_the_window() -> None:
    a = profile("a", "en", ["#6.1", "#30", "port", "klar"])
    b = profile("b", "en", ["#6.1", "#30", "port", "klar", "more"])
    ru = profile("r", "ru", ["#6.1", "#30", "port", "klar", "moro"])
    other = profile("o", "en", ["#5.2", "#12", "osak", "kenj"])
    assert stories.linked(a, b, 0.95)
    assert not stories.linked(a, b, 0.90)  # same language: the vectors must be very close
    assert stories.linked(a, ru, 0.85)  # across languages a lower cosine is enough with shared entities
    assert not stories.linked(a, other, 0.99)  # same words, another event: no shared entities
    late = profile("late", "en", list(a.entities), hours=49)
    assert not stories.linked(a, late, 0.99)
    assert not stories.linked(a, a, 1.0)


def test_story_ids_depend_on_membership_not_arrival_order() -> None:
    links = {"a": {"b"}, "b": {"a", "c"}, "c": {"b"}, "d": set()}
    assert stories.components(["d", "c", "b", "a"], links) == [["a", "b", "c"], ["d"]]
    times = {"a": T0 + timedelta(hours=2), "b": T0, "c": T0, "d": T0}
    assert stories.founder((n, times[n]) for n in ["c", "a", "b"]) == "b"  # earliest, then smallest id
    assert stories.story_id("b") == "st-b"


def test_merge_keeps_the_older_id_and_a_split_gives_the_other_part_its_own() -> None:
    order = {n: (T0 + timedelta(hours=i), n) for i, n in enumerate(["a1", "a2", "b1", "b2", "x"])}
    before = {"a1": "st-a1", "a2": "st-a1", "b1": "st-b1", "b2": "st-b1"}
    merged = dict.fromkeys([*before, "x"], "st-a1")
    assert stories.redirects(before, merged, order=order) == {"st-b1": "st-a1"}
    split = {"a1": "st-a1", "a2": "st-a1", "b1": "st-b1", "b2": "st-b1"}
    assert stories.redirects({**merged}, split, order=order) == {}  # st-a1 still names a story; st-b1 is back
    assert stories.redirects({"a1": "st-a1"}, {}, order=order) == {"st-a1": None}  # all gone
    assert stories.redirects({"a1": "st-a1", "a2": "st-a1"}, {"a2": "st-a2"}, order=order) == {"st-a1": "st-a2"}


# -- the clusterer on real Elasticsearch ------------------------------------------------------------------


@pytest.fixture(scope="module")
def model() -> Iterator[E5Embedder]:
    yield E5Embedder(threads=1)


def embedded(model: E5Embedder, articles: list[ArticleData]) -> list[tuple[ArticleData, Any]]:
    vectors = model.embed([document_text(a) for a in articles])
    return list(zip(articles, vectors, strict=True))


def cluster(
    es: Elasticsearch,
    alias: str,
    *,
    published: list[tuple[ArticleData, Any]],
    retracted: list[tuple[str, int]],
) -> clusterer.Outcome:
    """One embedder batch: its vectors and tombstones into the vectors side index (where the clusterer's
    kNN finds the candidates), then the clustering."""
    ensure_side_aliases(es, alias, IndexingSettings())
    writes = [
        (vectors_alias(alias), vector_document(a, vector=[float(x) for x in v], model="test")) for a, v in published
    ]
    writes += [(vectors_alias(alias), side_tombstone(i, version)) for i, version in retracted]
    write_side(es, writes)
    return clusterer.apply(es, alias, published=published, retracted=retracted)


def story_of(es: Elasticsearch, alias: str, ids: list[str]) -> dict[str, str]:
    docs = es.mget(index=clusterer.members_index(alias), ids=ids, source_includes=["story_id"])["docs"]
    return {d["_id"]: d["_source"]["story_id"] for d in docs}


def test_same_story_articles_join_one_story_and_others_stay_apart(
    es_alias: ElasticsearchSettings, es: Elasticsearch, model: E5Embedder
) -> None:
    alias = es_alias.alias
    articles = [make(PORTO[0]), make(OSAKA, minutes=5), make(PORTO[1], minutes=30), make(VOTE, minutes=40)]
    articles.append(make(PORTO[2], minutes=50))
    pairs = embedded(model, articles)
    first = cluster(es, alias, published=pairs[:2], retracted=[])  # two batches, as the embedder would
    cluster(es, alias, published=pairs[2:], retracted=[])
    assert first.updated == ["st-osaka-1", "st-porto-1"]
    ids = [a.id for a in articles]
    assert story_of(es, alias, ids) == {
        "porto-1": "st-porto-1",
        "porto-2": "st-porto-1",
        "porto-3": "st-porto-1",
        "osaka-1": "st-osaka-1",
        "vote-1": "st-vote-1",
    }
    member = es.get(index=clusterer.members_index(alias), id="porto-1")["_source"]
    assert "embedding" not in member and member["done"] is True  # candidates come from the vectors index
    story = es.get(index=clusterer.stories_index(alias), id="st-porto-1")["_source"]
    assert story["article_ids"] == ["porto-1", "porto-2", "porto-3"]
    assert story["sources_count"] == 3 and story["languages"] == ["en", "ru"]
    assert story["title"] == PORTO[0][3]

    replay = cluster(es, alias, published=pairs, retracted=[])  # a replayed batch changes nothing
    assert replay.updated == [] and story_of(es, alias, ids)["porto-3"] == "st-porto-1"


def test_ids_are_the_same_whatever_the_arrival_order(
    es_alias: ElasticsearchSettings, es: Elasticsearch, model: E5Embedder
) -> None:
    articles = [make(PORTO[0]), make(PORTO[1], minutes=30), make(PORTO[2], minutes=50), make(OSAKA, minutes=5)]
    pairs = embedded(model, articles)
    forward, backward = es_alias.alias + "-forward", es_alias.alias + "-backward"
    for pair in pairs:
        cluster(es, forward, published=[pair], retracted=[])
    for pair in reversed(pairs):  # the founder arrives last: ids change on the way, end the same
        cluster(es, backward, published=[pair], retracted=[])
    ids = [a.id for a in articles]
    assert story_of(es, forward, ids) == story_of(es, backward, ids)
    assert set(story_of(es, backward, ids).values()) == {"st-porto-1", "st-osaka-1"}
    gone = es.get(index=clusterer.stories_index(backward), id="st-porto-2")["_source"]
    assert gone == {"id": "st-porto-2", "status": "merged", "redirect_to": "st-porto-1"}


def at_angle(degrees: float) -> Any:
    """A unit vector in a fixed plane: the cosine of two of them is the cosine of their angle."""
    e1, e2 = np.zeros(DIMS, dtype=np.float32), np.zeros(DIMS, dtype=np.float32)
    e1[0], e2[1] = 1.0, 1.0
    radians = np.radians(degrees)
    return (np.cos(radians) * e1 + np.sin(radians) * e2).astype(np.float32)


def dam(article_id: str, source: str, minutes: int) -> ArticleData:
    return make(
        (article_id, "en", source, "Dam 17 breaks near Graz", "Dam 17 broke near Graz, 40 were hurt."), minutes=minutes
    )


def test_merge_keeps_the_older_id_redirects_and_a_retraction_splits(
    es_alias: ElasticsearchSettings, es: Elasticsearch
) -> None:
    alias = es_alias.alias
    a1, a2, b1, x = dam("a1", "s1", 0), dam("a2", "s2", 10), dam("b1", "s3", 20), dam("x", "s4", 30)
    # Angles: a1 0°, a2 5°, x 20°, b1 35°. Linked within ~21° (cosine ≥ 0.93): a1-a2, a1-x, a2-x, x-b1.
    cluster(es, alias, published=[(a1, at_angle(0)), (a2, at_angle(5)), (b1, at_angle(35))], retracted=[])
    assert story_of(es, alias, ["a1", "a2", "b1"]) == {"a1": "st-a1", "a2": "st-a1", "b1": "st-b1"}

    outcome = cluster(es, alias, published=[(x, at_angle(20))], retracted=[])
    assert outcome.redirected == {"st-b1": "st-a1"}  # the merge keeps the older story's id
    assert set(story_of(es, alias, ["a1", "a2", "b1", "x"]).values()) == {"st-a1"}
    index = clusterer.stories_index(alias)
    assert es.get(index=index, id="st-b1")["_source"] == {"id": "st-b1", "status": "merged", "redirect_to": "st-a1"}
    assert es.get(index=index, id="st-a1")["_source"]["sources_count"] == 4

    # Retracting the bridge splits them again: b1's part gets its own founder's id back.
    cluster(es, alias, published=[], retracted=[("x", 2)])
    assert story_of(es, alias, ["a1", "a2", "b1", "x"]) == {"a1": "st-a1", "a2": "st-a1", "b1": "st-b1", "x": ""}
    assert es.get(index=index, id="st-b1")["_source"]["status"] == "active"
    assert es.get(index=index, id="st-a1")["_source"]["article_ids"] == ["a1", "a2"]
    # A replay of x's older version does not bring it back (the tombstone's version is newer).
    cluster(es, alias, published=[(x, at_angle(20))], retracted=[])
    assert story_of(es, alias, ["x"]) == {"x": ""}


def graph_state(es: Elasticsearch, alias: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every member (story, links, version) and every story document (without its write time) of ``alias``."""
    found = {}
    for index in (clusterer.members_index(alias), clusterer.stories_index(alias)):
        es.indices.refresh(index=index)
        hits = es.search(index=index, size=1000, query={"match_all": {}})["hits"]["hits"]
        found[index] = {h["_id"]: {k: v for k, v in h["_source"].items() if k != "updated_at"} for h in hits}
    return found[clusterer.members_index(alias)], found[clusterer.stories_index(alias)]


def test_a_growing_story_is_updated_in_place_and_ends_as_a_full_recompute_would(
    es_alias: ElasticsearchSettings, es: Elasticsearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cheap path (an article joining one story, read from its document) against the full one.

    Eighty articles of two dam stories arrive in batches, some late, then twenty come back as new versions
    at other angles (links dropped, one story emptied into the other, parts split off): the alias clustered
    with the cheap path allowed is, after every batch, exactly the alias where every change recomputed
    the components."""
    rng = np.random.default_rng(7)
    items = []
    for n in range(80):  # mostly in time order, as news arrives; every 8th one is an hour late
        base = 0.0 if n % 2 else 60.0  # two stories: the angles of each within 15 degrees, 60 apart
        minutes = 5 * n - (60 if n % 8 == 7 else 0)
        items.append((dam(f"d{n:02}", f"s{n % 7}", minutes=minutes), base + rng.uniform(0, 15)))
    revised = [
        (
            dam(a.id, a.source_id, minutes=int((a.published_at - T0).total_seconds() // 60)).model_copy(
                update={"version": 2, "seq": 2}
            ),
            float(rng.choice([5.0, 30.0, 62.0])) + rng.uniform(0, 3),
        )
        for a, _ in items[:20]
    ]
    batches, at = [], 0
    while at < len(items):
        size = int(rng.integers(1, 6))
        batches.append(items[at : at + size])
        at += size
    batches += [revised[i : i + 3] for i in range(0, len(revised), 3)]

    cheap, full = es_alias.alias + "-cheap", es_alias.alias + "-full"
    recomputed = {"cheap": 0, "full": 0}
    recompute = clusterer.Clusterer._recompute

    def counted(name: str) -> Any:
        def wrapper(self: clusterer.Clusterer, seeds: set[str], *, previous: dict[str, str]) -> None:
            recomputed[name] += 1
            recompute(self, seeds, previous=previous)

        return wrapper

    for number, batch in enumerate(batches):
        for alias, name in ((cheap, "cheap"), (full, "full")):
            with monkeypatch.context() as patch:
                patch.setattr(clusterer.Clusterer, "_recompute", counted(name))
                if name == "full":
                    patch.setattr(clusterer.Clusterer, "_joined", lambda *args, **kwargs: False)
                cluster(es, alias, published=[(a, at_angle(angle)) for a, angle in batch], retracted=[])
        assert graph_state(es, cheap) == graph_state(es, full), f"after batch {number}"
    assert recomputed["full"] == len(items) + len(revised)
    assert recomputed["cheap"] < recomputed["full"] / 2, recomputed  # most arrivals joined in place
    members, documents = graph_state(es, cheap)
    assert len({m["story_id"] for m in members.values()}) >= 2
    assert all(doc["size"] == len(doc["article_ids"]) for doc in documents.values() if doc["status"] == "active")


def test_story_routes_of_the_index_api(
    es_alias: ElasticsearchSettings,
    kafka_topics: KafkaSettings,
    es: Elasticsearch,
    model: E5Embedder,
    helpers: Any,
    service_process: Any,
) -> None:
    alias = es_alias.alias
    articles = [make(PORTO[0]), make(PORTO[1], minutes=30), make(PORTO[2], minutes=50), make(OSAKA, minutes=5)]
    helpers.index_directly(es, alias, articles)
    cluster(es, alias, published=embedded(model, articles), retracted=[])
    api = service_process("newsflow-index", "api", env=settings_env(kafka=kafka_topics, es=es_alias))
    with httpx.Client(base_url=api.url, timeout=30) as http:
        page = http.get("/stories").json()
        assert [s["id"] for s in page["items"]] == ["st-porto-1"]  # min_size 2: the single Osaka article is not listed
        assert page["items"][0]["sources_count"] == 3 and page["next_cursor"] is None
        assert [s["id"] for s in http.get("/stories", params={"min_size": 1}).json()["items"]] == [
            "st-porto-1",
            "st-osaka-1",
        ]
        first = http.get("/stories", params={"min_size": 1, "size": 1}).json()
        second = http.get("/stories", params={"min_size": 1, "size": 1, "cursor": first["next_cursor"]}).json()
        assert [s["id"] for s in first["items"] + second["items"]] == ["st-porto-1", "st-osaka-1"]
        detail = http.get("/stories/st-porto-1").json()
        assert [a["id"] for a in detail["articles"]] == ["porto-1", "porto-2", "porto-3"]
        assert {s["name"] for s in detail["sources"]} == {"Ledger", "Metro", "Vesti"}
        missing = http.get("/stories/st-nothing")
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
        assert http.get("/articles/porto-3/story").json()["story"]["id"] == "st-porto-1"
        assert http.get("/articles/unknown/story").json() == {"article_id": "unknown", "story": None}
        updates = http.get("/stories/updates").json()
        assert {s["id"] for s in updates["items"]} == {"st-porto-1", "st-osaka-1"}
        assert http.get("/stories/updates", params={"after": updates["next_after"]}).json()["items"] == []


def test_the_embedder_role_clusters_as_vectors_arrive(
    kafka_topics: KafkaSettings,
    es_alias: ElasticsearchSettings,
    es: Elasticsearch,
    events: Any,
    service_process: Any,
) -> None:
    env = settings_env(kafka=kafka_topics, es=es_alias)
    service_process("newsflow-index", "worker", http=False, env=env)
    service_process("newsflow-index", "embedder", http=False, env=env)
    events.send([make(PORTO[0]), make(OSAKA, minutes=5)])
    events.send([make(PORTO[1], minutes=30), make(PORTO[2], minutes=50)])

    def clustered() -> dict[str, str] | None:
        found = story_of_all(es, es_alias.alias)
        return found if len(found) == 4 else None

    assert eventually(clustered, timeout=120) == {
        "porto-1": "st-porto-1",
        "porto-2": "st-porto-1",
        "porto-3": "st-porto-1",
        "osaka-1": "st-osaka-1",
    }


def story_of_all(es: Elasticsearch, alias: str) -> dict[str, str]:
    index = clusterer.members_index(alias)
    if not es.indices.exists(index=index):
        return {}
    hits = es.search(index=index, query={"term": {"done": True}}, size=100, source_includes=["story_id"])
    return {h["_id"]: h["_source"]["story_id"] for h in hits["hits"]["hits"]}
