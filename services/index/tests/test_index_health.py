from newsflow_index.main import create_app
from newsflow_index.settings import Settings
from newsflow_kit.settings import ElasticsearchSettings, KafkaSettings, MongoSettings
from newsflow_kit.testing import assert_serving


def test_health_and_readiness(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, es_alias: ElasticsearchSettings
) -> None:
    settings = Settings(kafka=kafka_settings, mongo=mongo_settings, elasticsearch=es_alias)
    assert_serving(create_app(settings), checks={"kafka": "ok", "elasticsearch": "ok"})
