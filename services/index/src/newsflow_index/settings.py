"""Settings of the index service (``NEWSFLOW_*``; see docs/index.md for every variable)."""

from pydantic import BaseModel, Field

from newsflow_kit.settings import ServiceSettings


class IndexingSettings(BaseModel):
    """How the worker and the reindexer write (``NEWSFLOW_INDEXING__*``)."""

    batch_size: int = Field(default=500, ge=1, le=10_000, description="Messages per consumed batch.")
    batch_timeout_s: float = Field(default=0.5, gt=0, description="Longest wait to fill a batch.")
    max_bulk_bytes: int = Field(default=8 << 20, ge=1 << 16, description="A batch is split into bulks this big.")
    max_backoff_s: float = Field(default=5.0, gt=0, description="Cap of the retry back-off while ES is down.")
    refresh_interval: str = Field(default="1s", description="The index's refresh interval (the staleness bound).")
    shards: int = Field(default=1, ge=1)
    replicas: int = Field(default=0, ge=0)


class Settings(ServiceSettings):
    port: int = 8002
    indexing: IndexingSettings = IndexingSettings()
