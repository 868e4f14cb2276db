"""FerretDB's indexes made usable by PostgreSQL (deploy/local/ferretdb-indexes.sql, docs/infra.md).

Indexes are created and dropped through FerretDB with pymongo, as the services do; what PostgreSQL
made of them is read with ``psql`` on the local cluster FerretDB stores into.
"""

import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pymongo import ASCENDING, MongoClient

from newsflow_kit.settings import MongoSettings

SQL = Path(__file__).resolve().parents[2] / "deploy/local/ferretdb-indexes.sql"


class Psql:
    """psql on the local PostgreSQL FerretDB stores into, its ``ferretdb`` database."""

    def __init__(self, servers: ModuleType) -> None:
        self.command = [
            str(servers._pg_bin() / "psql"),
            *("-h", "127.0.0.1", "-p", str(servers.Postgres().port), "-U", "newsflow", "-d", "ferretdb"),
            *("-v", "ON_ERROR_STOP=1", "-qtA", "-F", "|"),
        ]

    def __call__(self, sql: str) -> list[list[str]]:
        done = subprocess.run([*self.command, "-c", sql], capture_output=True, text=True, check=True)
        return [line.split("|") for line in done.stdout.splitlines() if line]

    def apply(self, path: Path) -> None:
        subprocess.run([*self.command, "-f", str(path)], capture_output=True, text=True, check=True)

    def indexes(self, schema: str, collection: str) -> dict[str, str]:
        """index name → its definition, for the table FerretDB keeps ``collection`` in."""
        rows = self(
            "SELECT indexname, indexdef FROM pg_indexes "
            f"WHERE schemaname = '{schema}' AND tablename LIKE '{collection}\\_%'"
        )
        return {row[0]: row[1] for row in rows}

    def gathered(self, schema: str, expression: str) -> list[str]:
        """The btree index columns (``index:column``) of ``schema`` whose key is ``expression`` and that
        ANALYZE gathers statistics for (target not 0)."""
        rows = self(
            "SELECT c.relname, a.attnum FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = i.indexrelid "
            f"WHERE n.nspname = '{schema}' AND a.attnum <= i.indnkeyatts "
            "AND a.attstattarget IS DISTINCT FROM 0 "
            f"AND pg_get_indexdef(i.indexrelid, a.attnum, true) = $e${expression}$e$"
        )
        return [f"{name}:{column}" for name, column in rows]


@pytest.fixture
def psql(local_servers: ModuleType) -> Psql:
    return Psql(local_servers)


def test_btree_indexes_get_gin_companions_and_one_statistics_copy_per_expression(
    mongo_database: MongoSettings, psql: Psql
) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_database.uri)
    schema = mongo_database.database
    try:
        comments = client[schema]["probe"]
        pad = "x" * 500  # enough pages that a sequential scan costs more than an index
        comments.insert_many([{"article_id": f"a{i % 10}", "created": i, "b": i, "pad": pad} for i in range(3000)])
        single = comments.create_index("article_id")  # first on article_id: it gathers the statistics
        comments.create_index([("article_id", ASCENDING), ("created", ASCENDING)])
        comments.create_index("b")

        indexes = psql.indexes(schema, "probe")
        btrees = [name for name, d in indexes.items() if "USING btree" in d and "_jsonb ->" in d]
        assert len(btrees) == 4, indexes  # _id and the three above
        for name in btrees:  # each btree has a GIN companion on the same expressions
            companion = indexes.get(f"{name[:59]}_gin", "")
            assert "USING gin" in companion and "jsonb_path_ops" in companion, (name, indexes)
        table = psql(f"SELECT DISTINCT tablename FROM pg_indexes WHERE schemaname = '{schema}' "
                      "AND tablename LIKE 'probe\\_%'")[0][0]  # fmt: skip
        psql(f'ANALYZE "{schema}"."{table}"')
        plan = psql(f"""EXPLAIN SELECT _jsonb FROM "{schema}"."{table}" WHERE _jsonb -> 'b' @> '42'""")
        assert any("_gin" in line[0] for line in plan), plan  # FerretDB's equality filter uses an index

        article_id = "(_jsonb -> 'article_id'::text)"
        first = psql.gathered(schema, article_id)
        assert len(first) == 1, first  # one copy per expression: the compound's column is left out
        stats = psql(f"SELECT count(*) FROM pg_stats WHERE schemaname = '{schema}' AND tablename = '{table}'")
        assert stats == [["0"]]  # nor the whole documents

        # Dropping the index that had article_id's statistics gives them to the compound's column,
        # and takes its companion along.
        comments.drop_index(single)
        after = psql.indexes(schema, "probe")
        assert not [name for name in after if single in name], after
        second = psql.gathered(schema, article_id)
        assert len(second) == 1 and second != first, (first, second)

        # The stack applies the file at every start: a re-apply changes nothing.
        psql.apply(SQL)
        assert psql.indexes(schema, "probe") == after
        assert psql.gathered(schema, article_id) == second
    finally:
        client.close()
