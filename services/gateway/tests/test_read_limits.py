"""The gateway refuses what the index would refuse (limits from the contracts) and what it cannot forward."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from newsflow_contracts import PAGE_SIZE_MAX, SEARCH_QUERY_MAX_CHARS, SUGGEST_QUERY_MAX_CHARS


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/search", {"q": "x" * (SEARCH_QUERY_MAX_CHARS + 1)}, "query.q"),
        ("/v1/search", {"size": PAGE_SIZE_MAX + 1}, "query.size"),
        ("/v1/articles", {"size": PAGE_SIZE_MAX + 1}, "query.size"),
        ("/v1/suggest", {"q": "x" * (SUGGEST_QUERY_MAX_CHARS + 1)}, "query.q"),
        ("/v1/stream", {"q": "x" * (SEARCH_QUERY_MAX_CHARS + 1)}, "query.q"),
    ],
)
def test_gateway_refuses_over_the_shared_limits_itself(
    client: TestClient, path: str, params: dict[str, Any], field: str
) -> None:
    # The backing services are dead addresses here: a 422 means the gateway refused on its own.
    response = client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize("body", [b'{"name": NaN, "kind": "push"}', b'{"name": "\\ud800", "kind": "push"}'])
def test_json_values_that_cannot_be_forwarded_are_422(
    client: TestClient, admin_headers: dict[str, str], body: bytes
) -> None:
    headers = {**admin_headers, "content-type": "application/json"}
    response = client.post("/v1/admin/sources", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
