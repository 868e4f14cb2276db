"""Issue 9.6: an authenticated request costs no store command on a key-cache hit; revocation still holds."""

from collections.abc import Callable

from fastapi.testclient import TestClient
from pymongo import monitoring

from newsflow_gateway.main import create_app
from newsflow_gateway.settings import Settings
from newsflow_kit.testing import DatabaseCommands, eventually

from .test_auth import ARTICLE, bearer, publisher_key


def test_a_cached_key_costs_no_store_command(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    _, key = publisher_key(settings, "daily-planet")
    commands = DatabaseCommands(settings.database)
    monitoring.register(commands)
    with TestClient(create_app(settings)) as client:
        assert client.post("/v1/articles", json=ARTICLE, headers=bearer(key)).status_code == 503  # ingest is down
        assert sum(name.startswith("find ") for name in commands.names) == 1
        before = len(commands.names)
        for _ in range(5):
            assert client.post("/v1/articles", json=ARTICLE, headers=bearer(key)).status_code == 503
        assert commands.names[before:] == []


def test_revocation_is_immediate_here_and_within_the_ttl_on_other_replicas(
    make_settings: Callable[..., Settings], admin_headers: dict[str, str]
) -> None:
    settings = make_settings(key_cache_ttl_s=1.0)
    key_id, key = publisher_key(settings, "daily-planet")
    with TestClient(create_app(settings)) as here, TestClient(create_app(settings)) as there:
        for replica in (here, there):  # both cache the key
            assert replica.post("/v1/articles", json=ARTICLE, headers=bearer(key)).status_code == 503
        assert here.delete(f"/v1/admin/keys/{key_id}", headers=admin_headers).status_code == 200
        assert here.post("/v1/articles", json=ARTICLE, headers=bearer(key)).status_code == 401
        eventually(lambda: there.post("/v1/articles", json=ARTICLE, headers=bearer(key)).status_code == 401, timeout=5)
