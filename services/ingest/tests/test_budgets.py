"""Issue 9.6: store round trips per request, counted with pymongo's command monitoring."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pymongo import monitoring

from newsflow_ingest.main import create_app
from newsflow_ingest.settings import Settings
from newsflow_kit.testing import DatabaseCommands

PUSH_BUDGET = 3
READ_BUDGET = 1


class Commands(DatabaseCommands):
    """The commands sent to one database (every client of this process is watched)."""

    client: TestClient | None = None

    def during(self) -> "Window":
        return Window(self, self.client)


class Window:
    """The commands of one request, including its publish, which runs after the answer."""

    def __init__(self, commands: Commands, client: TestClient | None = None) -> None:
        self.commands, self.start, self.client = commands, 0, client

    def __enter__(self) -> list[str]:
        self._settle()  # what earlier requests still publish is theirs
        self.start = len(self.commands.names)
        self.seen: list[str] = []
        return self.seen

    def __exit__(self, *_: object) -> None:
        self._settle()
        self.seen.extend(self.commands.names[self.start :])

    def _settle(self) -> None:
        if self.client is not None and self.client.portal is not None:
            self.client.portal.call(self.client.app.state.ingest.ingestor.settle)  # type: ignore[attr-defined]


@pytest.fixture
def counted(settings: Settings) -> Iterator[tuple[TestClient, Commands]]:
    commands = Commands(settings.database)
    monitoring.register(commands)  # before the app's client exists: it is watched too
    with TestClient(create_app(settings)) as client:
        commands.client = client
        yield client, commands


def _article(n: int, body: str = "First text.") -> dict[str, object]:
    return {"title": f"Budget story {n}", "url": f"https://wire.example/budget-{n}", "body": f"<p>{body}</p>"}


def test_push_and_read_stay_within_their_round_trip_budgets(counted: tuple[TestClient, Commands]) -> None:
    client, commands = counted
    source = client.post("/sources", json={"name": "wire", "kind": "push"}).json()["id"]
    client.post("/articles", json={**_article(0), "source_id": source})  # the source is cached from here on

    for n in range(1, 6):
        with commands.during() as created:
            assert client.post("/articles", json={**_article(n), "source_id": source}).status_code == 201
        assert len(created) <= PUSH_BUDGET, created
        with commands.during() as edited:
            answer = client.post("/articles", json={**_article(n, "Edited text."), "source_id": source})
            assert answer.json()["status"] == "updated"
        assert len(edited) <= PUSH_BUDGET, edited
        with commands.during() as unchanged:
            answer = client.post("/articles", json={**_article(n, "Edited text."), "source_id": source})
            assert answer.json()["status"] == "unchanged"
        assert len(unchanged) <= 1, unchanged
        with commands.during() as read:
            assert client.get(f"/articles/{answer.json()['id']}").json()["version"] == 2
        assert len(read) <= READ_BUDGET, read
