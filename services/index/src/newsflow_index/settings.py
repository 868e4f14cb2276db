"""Settings of the index service (``NEWSFLOW_*``; see docs/index.md for every variable)."""

from pydantic import BaseModel, Field

from newsflow_kit.settings import ServiceSettings


class IndexingSettings(BaseModel):
    """How the worker and the reindexer write (``NEWSFLOW_INDEXING__*``)."""

    batch_size: int = Field(default=500, ge=1, le=10_000, description="Messages per consumed batch.")
    batch_timeout_s: float = Field(default=0.5, gt=0, description="Longest wait for a first message.")
    max_bulk_bytes: int = Field(default=8 << 20, ge=1 << 16, description="A batch is split into bulks this big.")
    max_backoff_s: float = Field(default=5.0, gt=0, description="Cap of the retry back-off while ES is down.")
    refresh_interval: str = Field(default="1s", description="The index's refresh interval (the staleness bound).")
    shards: int = Field(default=1, ge=1)
    replicas: int = Field(default=0, ge=0)


class EmbedderSettings(BaseModel):
    """How the embedder role works (``NEWSFLOW_EMBEDDER__*``; docs/ai.md)."""

    batch_size: int = Field(default=32, ge=1, le=1000, description="Messages per consumed batch.")
    batch_timeout_s: float = Field(default=1.0, gt=0, description="Longest wait for a first message.")
    threads: int = Field(default=2, ge=1, le=64, description="CPU threads the model may use.")
    max_backoff_s: float = Field(default=5.0, gt=0, description="Cap of the retry back-off while ES is down.")
    nice: int = Field(
        default=19, ge=0, le=19, description="CPU niceness of the process: serving and indexing go first."
    )


class SummarizerSettings(BaseModel):
    """How the summarizer role works (``NEWSFLOW_SUMMARIZER__*``; docs/ai.md)."""

    batch_size: int = Field(default=8, ge=1, le=500, description="Articles summarised per pass.")
    idle_s: float = Field(default=1.0, gt=0, description="Pause when no article waits for its AI block.")
    threads: int = Field(default=1, ge=1, le=64, description="CPU threads the model may use.")
    max_sentences: int = Field(default=24, ge=1, le=200, description="Sentences of a body read for the summary.")
    idle_priority: bool = Field(
        default=True, description="Run in the idle scheduling class: only on CPU nothing else wants (Linux)."
    )


class AiYieldSettings(BaseModel):
    """When the embedder and the summarizer give way to indexing (``NEWSFLOW_AI_YIELD__*``; docs/ai.md)."""

    writes_per_s: float = Field(
        default=50, ge=0, description="Article writes/s of the alias above which the AI roles hold (0: never)."
    )
    quiet_s: float = Field(default=3.0, ge=0, description="How long the rate stays under it before they resume.")
    max_s: float = Field(
        default=120.0, gt=0, le=240, description="Longest hold; then they work as long before they may hold again."
    )
    check_s: float = Field(default=0.5, gt=0, le=5, description="How often a held role reads the rate again.")
    vectors_behind: int = Field(
        default=8,
        ge=0,
        description="Published articles without their vector above which the summarizer holds (0: never).",
    )


class SearchSettings(BaseModel):
    """How search pages are read (``NEWSFLOW_SEARCH__*``)."""

    pit_keep_alive: str = Field(
        default="2m",
        pattern=r"^[1-9][0-9]{0,3}[smh]$",
        description="How long a search's point in time outlives its last page (each next page renews it).",
    )


class StoriesSettings(BaseModel):
    """Story clustering in the embedder's write path (``NEWSFLOW_STORIES__*``; docs/ai.md)."""

    enabled: bool = Field(default=True, description="Cluster articles into stories as their vectors are stored.")


class Settings(ServiceSettings):
    port: int = 8002
    search: SearchSettings = SearchSettings()
    indexing: IndexingSettings = IndexingSettings()
    embedder: EmbedderSettings = EmbedderSettings()
    summarizer: SummarizerSettings = SummarizerSettings()
    ai_yield: AiYieldSettings = AiYieldSettings()
    stories: StoriesSettings = StoriesSettings()
