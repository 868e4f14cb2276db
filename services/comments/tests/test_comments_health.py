import pytest
from pydantic import ValidationError

from newsflow_comments.main import create_app
from newsflow_comments.settings import CommentsSettings, Settings
from newsflow_kit.settings import KafkaSettings, MongoSettings
from newsflow_kit.testing import assert_serving


def test_health_and_readiness_name_only_what_the_api_uses(mongo_database: MongoSettings) -> None:
    # The API answers HTTP only: no Kafka anywhere in it (a broker nobody listens on must not matter).
    settings = Settings(kafka=KafkaSettings(bootstrap_servers="127.0.0.1:1"), mongo=mongo_database)
    assert_serving(create_app(settings), checks={"mongodb": "ok"})


def test_placeholder_secret_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="NEWSFLOW_COMMENTS__SECRET"):
        Settings(environment="production", admin_key="a-real-admin-key")
    ok = Settings(
        environment="production", admin_key="a-real-admin-key", comments=CommentsSettings(secret="s3cret-value")
    )
    assert ok.database == "newsflow_comments"
