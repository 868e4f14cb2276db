"""Per-address limits cannot be dodged with a forged X-Forwarded-For; a configured proxy's header counts.

The gateway runs as a real process (uvicorn resolves forwarded headers before the app sees the peer).
"""

import json
from collections.abc import Callable

import httpx

from newsflow_kit.settings import KafkaSettings, MongoSettings
from newsflow_kit.testing import ServiceProcess, free_port, settings_env


def _gateway(
    service_process: Callable[..., ServiceProcess], kafka: KafkaSettings, mongo: MongoSettings, **extra: str
) -> ServiceProcess:
    dead = f"http://127.0.0.1:{free_port()}"
    env = settings_env(kafka=kafka, mongo=mongo) | {
        "NEWSFLOW_LIMITS__ANONYMOUS_BURST": "3",
        "NEWSFLOW_LIMITS__ANONYMOUS_PER_S": "0.01",
        "NEWSFLOW_SERVICES__INGEST_URL": dead,
        "NEWSFLOW_SERVICES__INDEX_URL": dead,
        "NEWSFLOW_SERVICES__COMMENTS_URL": dead,
        **extra,
    }
    return service_process("newsflow-gateway", "api", env=env)


def _statuses(gateway: ServiceProcess) -> list[int]:
    """Ten anonymous requests, each claiming another client address."""
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        return [
            client.get("/v1/admin/keys", headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code for n in range(10)
        ]


def test_forged_forwarded_for_does_not_escape_the_per_address_limit(
    service_process: Callable[..., ServiceProcess], kafka_topics: KafkaSettings, mongo_database: MongoSettings
) -> None:
    statuses = _statuses(_gateway(service_process, kafka_topics, mongo_database))
    assert statuses[:3] == [401, 401, 401]
    assert set(statuses[3:]) == {429}


def test_a_trusted_proxy_forwards_each_client_address(
    service_process: Callable[..., ServiceProcess], kafka_topics: KafkaSettings, mongo_database: MongoSettings
) -> None:
    trusting = {"NEWSFLOW_HTTP__TRUSTED_PROXIES": json.dumps(["127.0.0.1"])}
    statuses = _statuses(_gateway(service_process, kafka_topics, mongo_database, **trusting))
    assert set(statuses) == {401}  # ten clients behind the proxy, one request each
