from fastapi.testclient import TestClient

from newsflow_kit.testing import assert_serving


def test_health_readiness_and_metrics(client: TestClient, admin_headers: dict[str, str]) -> None:
    checks = {"mongodb": "ok", "kafka": "ok", "stream": "ok"}
    assert_serving(client, checks=checks, metric="newsflow_gateway_stream_connections", metrics_headers=admin_headers)


def test_metrics_are_not_public(client: TestClient) -> None:
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert "newsflow_" not in anonymous.text
    assert client.get("/metrics", headers={"Authorization": "Bearer not-a-key"}).status_code == 401


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/search", "/v1/articles/{article_id}", "/v1/stream", "/v1/admin/keys"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200
