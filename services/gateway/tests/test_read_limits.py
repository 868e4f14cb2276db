"""The gateway refuses what the index would refuse, with the numbers declared once in the contracts."""

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
