"""``newsflow-index <role>``: one process per role, so each scales on its own.

api        the search API (port 8002)
worker     articles.v1 → Elasticsearch (consumer group ``index``)
embedder   articles.v1 → vectors and story clusters (consumer group ``index-embedder``)
summarizer summary and key points of the embedded articles (reads the index, no consumer group)
reindex    rebuild the index from articles.v1 and swap the alias (zero downtime)
redrive    re-publish the dead-lettered messages to articles.v1
"""

import argparse

from newsflow_index import bootstrap
from newsflow_index.settings import Settings
from newsflow_kit.roles import Role, dispatch


def _reindex(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep-old", action="store_true", help="keep the previous index instead of deleting it")


ROLES: list[Role[Settings]] = [
    Role("api", "serve the search API", bootstrap.run_api),
    Role("worker", "index articles.v1 into Elasticsearch", bootstrap.run_worker),
    Role(
        "embedder",
        "embed articles.v1 (vectors, story clusters) into Elasticsearch",
        bootstrap.run_embedder,
    ),
    Role("summarizer", "write the summary and key points of embedded articles", bootstrap.run_summarizer),
    Role("reindex", "rebuild the index from articles.v1 and swap the alias", bootstrap.run_reindex, _reindex),
    Role("redrive", "re-publish dead-lettered messages to articles.v1", bootstrap.run_redrive),
]


def main(argv: list[str] | None = None) -> None:
    dispatch("newsflow-index", __doc__, ROLES, Settings, argv)
