"""Rate limits, body caps, CORS, request ids and security headers."""

import json
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from newsflow_gateway.main import create_app
from newsflow_gateway.ratelimit import Rate, RateLimiter
from newsflow_gateway.settings import LimitsSettings, Settings
from newsflow_kit.errors import RateLimited


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    rate = Rate(per_second=2.0, burst=2)
    limiter.hit("a", rate)
    limiter.hit("a", rate)
    with pytest.raises(RateLimited) as refused:
        limiter.hit("a", rate)
    assert refused.value.headers["Retry-After"] == "1"
    limiter.hit("b", rate)  # buckets are separate
    now[0] = 0.5
    limiter.hit("a", rate)


def test_bucket_table_is_bounded() -> None:
    limiter = RateLimiter(max_buckets=2, clock=lambda: 0.0)
    rate = Rate(per_second=1.0, burst=1)
    for key in ("a", "b", "c"):
        limiter.hit(key, rate)
    limiter.hit("a", rate)  # forgotten (least recently used), so full again


def test_anonymous_and_keyed_requests_are_limited_apart(
    make_settings: Callable[..., Settings], admin_headers: dict[str, str]
) -> None:
    settings = make_settings(
        limits=LimitsSettings(anonymous_per_s=0.01, anonymous_burst=2, key_per_s=0.01, key_burst=3)
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/suggest?q=a").status_code == 503  # allowed; index is down
        assert client.get("/v1/suggest?q=a").status_code == 503
        limited = client.get("/v1/suggest?q=a")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"] == "application/problem+json"
        # A wrong key spends the address's tokens too.
        assert client.get("/v1/admin/keys", headers={"Authorization": "Bearer wrong"}).status_code == 429
        for _ in range(3):
            assert client.get("/v1/admin/keys", headers=admin_headers).status_code == 200
        assert client.get("/v1/admin/keys", headers=admin_headers).status_code == 429


def test_body_caps(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(limits=LimitsSettings(max_body_bytes=20_000, small_body_bytes=2_000))
    with TestClient(create_app(settings)) as client:
        big = {"author_name": "x", "body": "y" * 5_000}
        assert client.post("/v1/articles/a1/comments", json=big).status_code == 413
        huge = {"items": [{"title": "t", "url": "https://e.org/", "body": "z" * 30_000}]}
        assert client.post("/v1/articles:batch", json=huge).status_code == 413


def test_small_body_cap_holds_for_chunked_bodies(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(limits=LimitsSettings(max_body_bytes=20_000, small_body_bytes=2_000))

    def chunked(body: bytes) -> Iterator[bytes]:
        yield from (body[i : i + 500] for i in range(0, len(body), 500))

    big = json.dumps({"author_name": "x", "body": "y" * 5_000}).encode()
    json_type = {"content-type": "application/json"}
    with TestClient(create_app(settings)) as client:
        answer = client.post("/v1/articles/a1/comments", content=chunked(big), headers=json_type)
        assert answer.status_code == 413, answer.text
        assert answer.headers["content-type"] == "application/problem+json"


def test_request_id_security_headers_and_cors(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(cors_origins=["https://reader.example"]))) as client:
        answer = client.get("/v1/admin/keys", headers={"X-Request-ID": "abc-123"})
        assert answer.headers["x-request-id"] == "abc-123" and answer.json()["request_id"] == "abc-123"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        preflight = client.options(
            "/v1/search",
            headers={"Origin": "https://reader.example", "Access-Control-Request-Method": "GET"},
        )
        assert preflight.headers["access-control-allow-origin"] == "https://reader.example"
        denied = client.options(
            "/v1/search", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        )
        assert "access-control-allow-origin" not in denied.headers
