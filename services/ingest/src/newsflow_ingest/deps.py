"""Typed dependencies: route signatures read as plain parameters."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from newsflow_ingest.service import Ingestor
from newsflow_ingest.settings import Settings
from newsflow_ingest.store import ArticlesRepo, SourcesRepo
from newsflow_ingest.websub import WebSubIn
from newsflow_kit.health import Check


@dataclass
class State:
    """What the api's routes use, built by ``bootstrap.api_state`` for the app's lifespan."""

    settings: Settings
    articles: ArticlesRepo
    sources: SourcesRepo
    ingestor: Ingestor
    websub: WebSubIn
    checks: Mapping[str, Check]


async def _state(request: Request) -> State:
    state: State = request.app.state.ingest
    return state


StateDep = Annotated[State, Depends(_state)]
