from fastapi.testclient import TestClient

from newsflow_index.main import create_app
from newsflow_index.settings import Settings
from newsflow_kit.settings import ElasticsearchSettings, KafkaSettings, MongoSettings


def test_health_and_readiness(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, es_alias: ElasticsearchSettings
) -> None:
    settings = Settings(kafka=kafka_settings, mongo=mongo_settings, elasticsearch=es_alias)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert "newsflow_http_requests_total" in client.get("/metrics").text
