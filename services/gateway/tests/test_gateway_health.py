from fastapi.testclient import TestClient


def test_health_readiness_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"mongodb": "ok", "kafka": "ok", "stream": "ok"}
    assert "newsflow_gateway_stream_connections" in client.get("/metrics").text


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/search", "/v1/articles/{article_id}", "/v1/stream", "/v1/admin/keys"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200
