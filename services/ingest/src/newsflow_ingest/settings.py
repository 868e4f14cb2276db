"""Settings of the ingest service (``NEWSFLOW_*``; every variable is in ``.env.example``)."""

from pydantic import BaseModel, Field

from newsflow_kit.settings import ServiceSettings


class FetchSettings(BaseModel):
    """How feeds and article pages are fetched (SSRF guard, caps, politeness)."""

    allow_hosts: list[str] = Field(
        default_factory=list,
        description="host[:port] entries that may resolve to private/loopback addresses (tests, local demo).",
    )
    timeout_s: float = 10.0
    max_redirects: int = 5
    feed_max_bytes: int = 10 * 1024 * 1024
    page_max_bytes: int = 5 * 1024 * 1024
    per_host_concurrency: int = 2
    user_agent: str = "NewsflowBot/0.1 (+https://newsflow.dev/bot)"


class PollerSettings(BaseModel):
    tick_s: float = Field(default=1.0, description="How often the poller looks for due sources.")
    lease_s: float = Field(
        default=60.0, description="A source lease, renewed every third of it while held; a crashed poller's expires."
    )
    concurrency: int = Field(default=32, description="Feeds fetched at once by one poller process.")
    claim_batch: int = Field(default=64, description="Due sources claimed per round trip (claimed again at half).")
    processes: int = Field(
        default=1, ge=0, description="Worker processes that parse feeds and normalise items (0: threads of the poller)."
    )
    max_backoff_s: float = 6 * 3600.0


class DemoSettings(BaseModel):
    enabled: bool = True
    feeds_port: int = Field(default=8010, description="Where `newsflow-ingest demo` serves the demo feed set.")
    publish_every_s: float = Field(default=20.0, description="Demo publisher cadence; 0 switches it off.")
    ingest_url: str = "http://127.0.0.1:8001"


class WebSubInSettings(BaseModel):
    """WebSub in (docs/compat.md): subscribing to the hubs feeds name."""

    callback_url: str | None = Field(
        default=None,
        description="Public base URL of the api's /websub/callback (hubs call <it>/<source id>); unset: off.",
    )
    lease_s: int = Field(default=864_000, ge=60, description="Lease asked of hubs.")
    renew_before_s: int = Field(default=86_400, ge=0, description="A poll this close to the lease's end renews it.")


class Settings(ServiceSettings):
    port: int = 8001
    max_body_bytes: int = Field(default=8 * 1024 * 1024, description="Cap of a push request body (413 above).")
    fast_path: bool = Field(default=True, description="Publish right after the write (else only the relay does).")
    relay_interval_s: float = Field(default=1.0, description="How often the relay sweeps pending changes.")
    relay_grace_s: float = Field(default=2.0, description="Pending changes younger than this are left to the api.")
    fetch: FetchSettings = FetchSettings()
    poller: PollerSettings = PollerSettings()
    demo: DemoSettings = DemoSettings()
    websub: WebSubInSettings = WebSubInSettings()

    @property
    def database(self) -> str:
        return self.mongo.database or "newsflow_ingest"
