"""Settings from ``NEWSFLOW_*`` environment variables (nested with ``__``).

Each service subclasses :class:`ServiceSettings` and adds its own fields; ``.env.example`` and the
README list every variable with its default.
"""

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"changeme", "changethis", "dev-admin-key"}


class KafkaSettings(BaseModel):
    bootstrap_servers: str = "127.0.0.1:9092"
    # Topic names are contracts; tests override them to get a private topic per test.
    articles_topic: str = "articles.v1"
    comments_topic: str = "comments.v1"
    articles_dlq_topic: str = "articles.v1.dlq"
    linger_ms: int = 5


class MongoSettings(BaseModel):
    uri: str = "mongodb://127.0.0.1:27017/"
    database: str = Field(default="", description="Empty: the service's own default database name.")
    timeout_ms: int = 3000


class ElasticsearchSettings(BaseModel):
    url: str = "http://127.0.0.1:9200"
    alias: str = "articles"
    timeout_s: float = 10.0


class ServiceSettings(BaseSettings):
    """The part of every service's settings that the kit understands."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSFLOW_",
        env_nested_delimiter="__",
        env_ignore_empty=True,
        extra="ignore",
    )

    environment: Literal["development", "test", "production"] = "development"
    log_level: str = "INFO"
    log_json: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    kafka: KafkaSettings = KafkaSettings()
    mongo: MongoSettings = MongoSettings()
    elasticsearch: ElasticsearchSettings = ElasticsearchSettings()
    admin_key: SecretStr = SecretStr("dev-admin-key")

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> "ServiceSettings":
        if self.environment == "production" and self.admin_key.get_secret_value() in PLACEHOLDER_SECRETS:
            raise ValueError("NEWSFLOW_ADMIN_KEY must be set to a real secret in production")
        return self
