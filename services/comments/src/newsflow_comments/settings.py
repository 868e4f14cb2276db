"""Settings of the comments service (``NEWSFLOW_*``; see the README for every variable)."""

from newsflow_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    port: int = 8003
