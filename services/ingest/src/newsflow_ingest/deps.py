"""Typed dependencies: route signatures read as plain parameters."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from newsflow_ingest.repository import ArticlesRepo, SourcesRepo
from newsflow_ingest.service import Ingestor
from newsflow_ingest.settings import Settings


@dataclass
class State:
    settings: Settings
    articles: ArticlesRepo
    sources: SourcesRepo
    ingestor: Ingestor


def _state(request: Request) -> State:
    state: State = request.app.state.ingest
    return state


StateDep = Annotated[State, Depends(_state)]
