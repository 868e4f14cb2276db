"""Story clusters through the gateway only: three sources (English and Russian) of one event become one story,
listed and shown by the API and the site, announced over SSE as ``story.updated``; another event stays apart."""

import json
import secrets
import threading
from collections.abc import Callable
from typing import Any

import httpx
from httpx_sse import connect_sse

from newsflow_kit.testing import eventually

# Names and numbers of their own, so no other e2e test's article can join these stories.
CITY, CITY_RU, MAYOR, MAYOR_RU = "Tampere", "Тампере", "Henrik Dahl", "Хенрик Даль"
QUAKE = [
    (
        "en",
        f"Magnitude 6.7 earthquake strikes {CITY}",
        f"An earthquake of magnitude 6.7 struck {CITY} early on Tuesday, collapsing the roof of the central "
        f"railway station. At least 43 people were hurt, according to mayor {MAYOR}, who ordered schools closed.",
    ),
    (
        "en",
        f"Strong quake shakes {CITY}, collapsing the roof of the central railway station",
        f"A magnitude 6.7 quake hit the {CITY} area before dawn on Tuesday, collapsing the roof of the central "
        f"railway station. Mayor {MAYOR} said at least 43 people were injured and buildings were evacuated.",
    ),
    (
        "ru",
        f"Землетрясение магнитудой 6.7 произошло в городе {CITY_RU}",
        f"Во вторник рано утром в городе {CITY_RU} произошло землетрясение магнитудой 6.7, обрушив крышу "
        f"центрального вокзала. Мэр {MAYOR_RU} сообщил, что число пострадавших достигло 43, школы закрыты.",
    ),
]
OTHER = (
    "en",
    "Magnitude 5.3 earthquake strikes Cebu",
    "An earthquake of magnitude 5.3 struck Cebu early on Tuesday, cracking the dam above the valley. "
    "At least 8 people were hurt, according to mayor Laura Becker, who ordered schools closed.",
)


def listen(url: str, into: list[dict[str, Any]], connected: threading.Event, done: threading.Event) -> None:
    """Collects story.updated events until ``done`` (checked at each event or heartbeat)."""
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=40)) as client,
        connect_sse(client, "GET", f"{url}/v1/stories/stream") as source,
    ):
        connected.set()
        for sse in source.iter_sse():
            if sse.event == "story.updated":
                into.append(json.loads(sse.data))
            if done.is_set():
                return


def test_sources_of_one_event_become_a_story(platform: Any, new_publisher: Callable[[], Any]) -> None:
    publishers = [new_publisher() for _ in range(3)]
    reader = platform.client()
    events: list[dict[str, Any]] = []
    connected, done = threading.Event(), threading.Event()
    listener = threading.Thread(target=listen, args=(platform.url, events, connected, done), daemon=True)
    listener.start()
    assert connected.wait(30)

    ids = []
    for n, (publisher, (language, title, body)) in enumerate(zip(publishers, QUAKE, strict=True)):
        item = {"title": title, "url": f"https://e2e.example/quake/{secrets.token_hex(4)}/{n}", "body": body}
        with platform.client(publisher.key) as pub:
            created = pub.post("/v1/articles", json=item | {"language": language, "tags": ["earthquake"]})
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
    with platform.client(publishers[0].key) as pub:
        language, title, body = OTHER
        other = pub.post("/v1/articles", json={"title": title, "url": "https://e2e.example/cebu", "body": body})
        assert other.status_code == 201, other.text

    def covered() -> dict[str, Any] | None:
        story = reader.get(f"/v1/articles/{ids[0]}").json().get("story")
        return story if story and story["sources_count"] == 3 else None

    story = eventually(covered, timeout=120, interval=1.0)  # worker, embedder and clusterer on a loaded machine
    sid = story["id"]
    detail = reader.get(f"/v1/stories/{sid}").json()
    assert sorted(a["id"] for a in detail["articles"]) == sorted(ids) and detail["languages"] == ["en", "ru"]
    assert {s["id"] for s in detail["sources"]} == {p.source_id for p in publishers}
    listed = reader.get("/v1/stories", params={"size": 50}).json()["items"]
    assert any(s["id"] == sid and s["size"] == 3 for s in listed)
    assert not any(other.json()["id"] in (s["id"].removeprefix("st-"),) for s in listed)  # a single article
    unknown = reader.get("/v1/stories/st-no-such-story")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"

    html = reader.get(f"/articles/{ids[2]}").text
    assert f'href="/stories/{sid}"' in html and "Covered by 3 sources" in html
    page = reader.get(f"/stories/{sid}")
    assert page.status_code == 200 and "<h1" in page.text and all(f"/articles/{i}" in page.text for i in ids)

    eventually(lambda: any(e["id"] == sid and e["sources_count"] == 3 for e in events), timeout=30)
    done.set()
