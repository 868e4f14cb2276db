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
    max_pool_size: int = Field(
        default=32,
        ge=1,
        description="Connections one process keeps to the store (FerretDB holds a backend connection per busy one).",
    )


class ElasticsearchSettings(BaseModel):
    url: str = "http://127.0.0.1:9200"
    alias: str = "articles"
    timeout_s: float = 10.0


class HttpSettings(BaseModel):
    """How long a client may take to send a request, and whose forwarded headers are believed."""

    header_timeout_s: float = Field(
        default=10.0, gt=0, description="Time to send a request's line and headers (else 408 and close)."
    )
    body_timeout_s: float = Field(
        default=30.0, gt=0, description="Time to send a whole request body once the headers are in (else 408)."
    )
    keep_alive_s: int = Field(default=5, ge=1, description="Idle time before a keep-alive connection is closed.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description=(
            'JSON list of proxy addresses or networks whose X-Forwarded-For/-Proto are believed, e.g. ["10.0.0.0/8"]; '
            "empty (the default): forwarded headers are ignored and the peer address is the client."
        ),
    )


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
    http: HttpSettings = HttpSettings()
    shutdown_grace_s: float = Field(
        default=20.0, gt=0, description="Time a role may take to stop after SIGTERM before it exits at once."
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> "ServiceSettings":
        if self.environment == "production" and self.admin_key.get_secret_value() in PLACEHOLDER_SECRETS:
            raise ValueError("NEWSFLOW_ADMIN_KEY must be set to a real secret in production")
        return self
