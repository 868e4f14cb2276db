"""Settings of the comments service (``NEWSFLOW_*``; docs/comments.md lists every variable)."""

from pydantic import BaseModel, Field, SecretStr, model_validator

from newsflow_kit.settings import PLACEHOLDER_SECRETS, ServiceSettings

DEFAULT_DATABASE = "newsflow_comments"
DEV_SECRET = "dev-comments-secret"


class CommentsSettings(BaseModel):
    """``NEWSFLOW_COMMENTS__*``: identity hashing, edit window, abuse limits, event delivery."""

    secret: SecretStr = Field(
        default=SecretStr(DEV_SECRET),
        description="HMAC key of client fingerprints and edit tokens; changing it resets every fingerprint.",
    )
    edit_window_s: float = Field(default=900.0, gt=0, description="How long after posting the author may edit.")
    duplicate_window_s: float = Field(default=60.0, gt=0, description="An identical post within it is one comment.")
    author_per_minute: int = Field(default=5, ge=1)
    author_per_hour: int = Field(default=30, ge=1)
    address_per_minute: int = Field(default=20, ge=1, description="Per client address (shared by NAT, so looser).")
    address_per_hour: int = Field(default=120, ge=1)
    policy_cache_s: float = Field(default=5.0, ge=0, description="How long a replica reuses the moderation policy.")
    idempotency_window_s: float = Field(
        default=86400.0,
        gt=0,
        description="How long a post's Idempotency-Key is remembered.",
    )
    post_deadline_s: float = Field(
        default=2.5, gt=0, description="A post that cannot finish in time answers 503 (not stored) instead of queueing."
    )
    article_cache_s: float = Field(default=2.0, ge=0, description="How long a replica reuses a known article's status.")
    thread_cache_s: float = Field(
        default=1.0, ge=0, le=10, description="How long a replica reuses a thread page it served (0: off)."
    )
    outbox_sweep_s: float = Field(default=0.5, gt=0, description="Period of the worker (events, scores, clean-up).")
    outbox_grace_s: float = Field(
        default=10.0, ge=0, description="Age after which the worker finishes a change whose writer did not."
    )
    outbox_margin_s: float = Field(
        default=30.0, gt=0, description="How far back the worker rescans for writes that committed late."
    )
    projection_group: str = Field(default="comments-articles", description="Consumer group of the articles projection.")


class Settings(ServiceSettings):
    port: int = 8003
    comments: CommentsSettings = CommentsSettings()

    @property
    def database(self) -> str:
        return self.mongo.database or DEFAULT_DATABASE

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> "Settings":
        secret = self.comments.secret.get_secret_value()
        if self.environment == "production" and (secret in PLACEHOLDER_SECRETS or secret == DEV_SECRET):
            raise ValueError("NEWSFLOW_COMMENTS__SECRET must be set to a real secret in production")
        return self
