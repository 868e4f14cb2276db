"""Settings of the gateway service (``NEWSFLOW_*``; docs/gateway.md lists every variable)."""

from pydantic import BaseModel, Field

from newsflow_kit.settings import ServiceSettings


class ServicesSettings(BaseModel):
    """Where the backing services answer, and how long the gateway waits for them."""

    ingest_url: str = "http://127.0.0.1:8001"
    index_url: str = "http://127.0.0.1:8002"
    comments_url: str = "http://127.0.0.1:8003"
    timeout_s: float = Field(default=5.0, gt=0)
    # The article page fetches its comment count and related articles in parallel; each gets this
    # long before the page is answered without it.
    part_timeout_s: float = Field(default=1.0, gt=0)
    max_connections: int = Field(default=200, ge=1)


class LimitsSettings(BaseModel):
    """Token buckets (per replica) and body caps."""

    anonymous_per_s: float = Field(default=20.0, gt=0)
    anonymous_burst: int = Field(default=60, ge=1)
    key_per_s: float = Field(default=100.0, gt=0)
    key_burst: int = Field(default=300, ge=1)
    max_body_bytes: int = Field(default=4 << 20, ge=1024, description="Cap of any request body (batch publish).")
    small_body_bytes: int = Field(default=256 << 10, ge=1024, description="Cap of one article or comment.")


class StreamSettings(BaseModel):
    heartbeat_s: float = Field(default=15.0, gt=0)
    queue_size: int = Field(default=256, ge=1, description="Events buffered per subscriber before it is cut off.")
    replay_max: int = Field(default=1000, ge=1, description="Most missed events replayed on resume.")
    replay_page: int = Field(default=200, ge=1, le=500)
    recent: int = Field(
        default=2000, ge=0, description="Latest changes kept in memory to answer resumes without reading ingest."
    )
    poll_s: float = Field(
        default=2.0, gt=0, description="Longest wait before reading ingest's change cursor without a Kafka wake-up."
    )
    stories_poll_s: float = Field(
        default=1.0, gt=0, description="How often story.updated streams read the index service's story changes."
    )


class CompatSettings(BaseModel):
    """The NewsAPI-compatible /v2 and the out-feeds (docs/compat.md)."""

    max_results: int = Field(default=1000, ge=1, le=10_000, description="Deepest result /v2 pages reach.")
    fetch_concurrency: int = Field(default=16, ge=1, le=100, description="Parallel article reads per /v2 page.")
    content_chars: int = Field(default=200, ge=1, description="Characters of body text in a /v2 content field.")
    feed_size: int = Field(default=20, ge=1, le=50, description="Entries per out-feed (/feeds/...).")
    feed_max_age_s: int = Field(default=60, ge=0, description="Cache-Control max-age of out-feeds.")
    public_url: str | None = Field(
        default=None, description="The gateway's public base URL for feed links; default: the request's own."
    )


class WebSubSettings(BaseModel):
    """The WebSub hub of the out-feeds (docs/compat.md)."""

    advertise: bool = Field(default=False, description="Out-feeds name the hub (run `newsflow-gateway websub` too).")
    default_lease_s: int = Field(default=864_000, ge=60)
    min_lease_s: int = Field(default=300, ge=60)
    max_lease_s: int = Field(default=2_592_000, ge=60)
    allow_hosts: list[str] = Field(
        default_factory=list, description="host[:port] callbacks that may resolve to private/loopback addresses."
    )
    timeout_s: float = Field(default=5.0, gt=0, description="Per verification or delivery request.")
    queue_size: int = Field(default=1000, ge=1, description="Deliveries waiting; past it new ones are dropped.")
    workers: int = Field(default=8, ge=1, le=100)
    max_attempts: int = Field(default=6, ge=1, le=20, description="Tries of one delivery before it is dropped.")
    retry_base_s: float = Field(default=1.0, gt=0, description="First retry delay; doubles each time (max 10 min).")


class Settings(ServiceSettings):
    port: int = 8000
    services: ServicesSettings = ServicesSettings()
    limits: LimitsSettings = LimitsSettings()
    streams: StreamSettings = StreamSettings()
    key_cache_ttl_s: float = Field(
        default=30.0, ge=0, description="How long a valid API key is cached per replica (revocation delay); 0: off."
    )
    compat: CompatSettings = CompatSettings()
    websub: WebSubSettings = WebSubSettings()
    cors_origins: list[str] = Field(default_factory=list, description='JSON list, e.g. ["https://example.org"].')

    @property
    def database(self) -> str:
        return self.mongo.database or "newsflow_gateway"
