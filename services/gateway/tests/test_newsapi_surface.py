"""/v2 in NewsAPI's dialect: where the key may be, the error envelope and codes, rate limits, scope."""

from collections.abc import Callable

from fastapi.testclient import TestClient

from newsflow_gateway.main import create_app
from newsflow_gateway.settings import LimitsSettings, Settings

from .conftest import ADMIN_KEY


def is_envelope(response: object, status: int, code: str) -> None:
    assert getattr(response, "status_code", None) == status, getattr(response, "text", "")
    body = response.json()  # type: ignore[attr-defined]
    assert body["status"] == "error" and body["code"] == code and body["message"], body
    assert response.headers["content-type"] == "application/json"  # type: ignore[attr-defined]


def test_key_is_required_and_checked(client: TestClient) -> None:
    is_envelope(client.get("/v2/everything", params={"q": "x"}), 401, "apiKeyMissing")
    is_envelope(client.get("/v2/sources"), 401, "apiKeyMissing")
    is_envelope(client.get("/v2/top-headlines", headers={"X-Api-Key": "nope"}), 401, "apiKeyInvalid")
    is_envelope(client.get("/v2/sources", params={"apiKey": "nfk_0123456789abcdef_nope"}), 401, "apiKeyInvalid")
    is_envelope(client.get("/v2/sources", headers={"Authorization": "Bearer nope"}), 401, "apiKeyInvalid")


def test_key_in_any_of_newsapis_places(client: TestClient) -> None:
    # Accepted: the request reaches ingest, which is down in this test (503 in NewsAPI's envelope).
    for where in (
        {"headers": {"X-Api-Key": ADMIN_KEY}},
        {"headers": {"Authorization": ADMIN_KEY}},
        {"headers": {"Authorization": f"Bearer {ADMIN_KEY}"}},
        {"params": {"apiKey": ADMIN_KEY}},
        {"params": {"APIKEY": ADMIN_KEY}},
    ):
        is_envelope(client.get("/v2/sources", **where), 503, "unexpectedError")  # type: ignore[arg-type]


def test_parameter_errors_are_checked_before_any_backend(client: TestClient) -> None:
    key = {"X-Api-Key": ADMIN_KEY}
    is_envelope(client.get("/v2/everything", headers=key), 400, "parametersMissing")
    is_envelope(client.get("/v2/everything", params={"q": "x", "sortBy": "hot"}, headers=key), 400, "parameterInvalid")
    too_deep = {"q": "x", "page": "11", "pageSize": "100"}
    is_envelope(client.get("/v2/everything", params=too_deep, headers=key), 426, "maximumResultsReached")
    mixed = {"sources": "a", "country": "us"}
    is_envelope(client.get("/v2/top-headlines", params=mixed, headers=key), 400, "parameterInvalid")
    is_envelope(client.get("/v2/nothing-here", headers=key), 404, "routeNotFound")


def test_rate_limit_in_the_envelope(make_settings: Callable[..., Settings]) -> None:
    limits = LimitsSettings(key_per_s=0.01, key_burst=2, anonymous_per_s=0.01, anonymous_burst=2)
    with TestClient(create_app(make_settings(limits=limits))) as client:
        key = {"X-Api-Key": ADMIN_KEY}
        for _ in range(2):
            is_envelope(client.get("/v2/everything", headers=key), 400, "parametersMissing")
        limited = client.get("/v2/everything", headers=key)
        is_envelope(limited, 429, "rateLimited")
        assert int(limited.headers["retry-after"]) >= 1
        for _ in range(2):
            is_envelope(client.get("/v2/everything", headers={"X-Api-Key": "guess"}), 401, "apiKeyInvalid")
        is_envelope(client.get("/v2/everything", headers={"X-Api-Key": "guess"}), 429, "rateLimited")


def test_the_envelope_is_only_for_v2(client: TestClient) -> None:
    answer = client.get("/v1/admin/keys")
    assert answer.status_code == 401 and answer.headers["content-type"] == "application/problem+json"
    assert client.get("/v3/everything").headers["content-type"] == "application/problem+json"
    assert "/v2/everything" not in client.get("/openapi.json").json()["paths"]
