"""The kit's store helpers on the real local store: ``bulk_write`` in small commands, ``find_in``."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient, UpdateOne, monitoring

from newsflow_kit.mongo import STATEMENTS_PER_COMMAND, bulk_write, find_in
from newsflow_kit.settings import MongoSettings
from newsflow_kit.testing import DatabaseCommands

Doc = dict[str, Any]


@pytest.fixture
async def watched(mongo_database: MongoSettings) -> AsyncIterator[tuple[Any, DatabaseCommands]]:
    commands = DatabaseCommands(mongo_database.database)
    monitoring.register(commands)  # before the client: it reports to it
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_database.uri)
    yield client[mongo_database.database]["items"], commands
    commands.database = None
    await client.close()


async def test_bulk_write_sends_a_few_statements_per_command(watched: tuple[Any, DatabaseCommands]) -> None:
    # FerretDB 1.24 holds a backend connection per statement until the command ends: 250 in one
    # command deadlocked it (pool of 200), so writes go in commands of STATEMENTS_PER_COMMAND.
    items, commands = watched
    await items.insert_many([{"_id": n, "state": "pending"} for n in range(40)])
    commands.names.clear()
    await bulk_write(items, [UpdateOne({"_id": n, "state": "pending"}, {"$set": {"state": "sent"}}) for n in range(40)])
    updates = [name for name in commands.names if name.startswith("update")]
    assert len(updates) == -(-40 // STATEMENTS_PER_COMMAND) and STATEMENTS_PER_COMMAND <= 50
    assert await items.count_documents({"state": "sent"}) == 40


async def test_find_in_asks_once_per_value_only_where_in_would_scan(watched: tuple[Any, DatabaseCommands]) -> None:
    items, commands = watched
    await items.insert_many([{"_id": n, "group": n % 5} for n in range(20)])
    commands.names.clear()
    found = await find_in(items, "group", [1, 3, 3], projection={"_id": 1})
    assert sorted(d["_id"] for d in found) == [1, 3, 6, 8, 11, 13, 16, 18]
    finds = [name for name in commands.names if name.startswith("find")]
    assert len(finds) in (1, 2)  # one $in on MongoDB; on FerretDB one lookup per distinct value
