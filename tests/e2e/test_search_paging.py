"""Search paging through the gateway (``/v1/search``) while articles keep arriving (and get embedded,
into the vectors side index): the cursor (page 1's ids, then a point-in-time id) passes through the gateway untouched.
Page 1 is read without a point in time (page 2 opens one), so articles that arrive in between may show
up on later pages; what must hold is that no hit is shown twice and every article present when page 1
was read is shown exactly once (issue 12)."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest

FIRST, LATER, SIZE = 24, 6, 7


@pytest.mark.parametrize("sort", ["relevance", "newest"])
def test_pages_through_the_gateway_never_repeat_or_skip(
    platform: Any,
    new_publisher: Callable[[], Any],
    article: Callable[..., dict[str, Any]],
    wait_searchable: Callable[[str, int], dict[str, Any]],
    word: str,
    sort: str,
) -> None:
    publisher = new_publisher()
    with platform.client(publisher.key) as pub:
        present = set()
        for n in range(FIRST):
            created = pub.post("/v1/articles", json=article(word, n))
            assert created.status_code == 201
            present.add(created.json()["id"])
        wait_searchable(word, FIRST)
        params: dict[str, Any] = {"q": word, "size": SIZE, "sort": sort}
        first = httpx.get(f"{platform.url}/v1/search", params=params, timeout=15).json()
        seen = [item["id"] for item in first["items"]]
        for n in range(FIRST, FIRST + LATER):  # arrive (and get embedded) between page 1 and the rest
            assert pub.post("/v1/articles", json=article(word, n)).status_code == 201
        wait_searchable(word, FIRST + LATER)
        cursor = first["next_cursor"]
        while cursor is not None:
            page = httpx.get(f"{platform.url}/v1/search", params={**params, "cursor": cursor}, timeout=15)
            assert page.status_code == 200, page.text
            seen += [item["id"] for item in page.json()["items"]]
            cursor = page.json()["next_cursor"]
    assert len(seen) == len(set(seen))  # no hit twice
    assert present <= set(seen)  # every article present at page 1 once; later ones may follow
    assert first["total"] == FIRST
