"""``newsflow-index <role>``: one process per role, so each scales on its own.

api        the search API (port 8002)
worker     articles.v1 → Elasticsearch (consumer group ``index``)
embedder   articles.v1 → vectors, summary and key points (consumer group ``index-embedder``)
reindex    rebuild the index from articles.v1 and swap the alias (zero downtime)
redrive    re-publish the dead-lettered messages to articles.v1
"""

import argparse

from newsflow_index.settings import Settings
from newsflow_kit.app import serve
from newsflow_kit.logging import configure_logging


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="newsflow-index", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    roles = parser.add_subparsers(dest="role", required=True)
    roles.add_parser("api", help="serve the search API")
    roles.add_parser("worker", help="index articles.v1 into Elasticsearch")
    roles.add_parser("embedder", help="embed articles.v1 (vectors, summary, key points) into Elasticsearch")
    reindex = roles.add_parser("reindex", help="rebuild the index from articles.v1 and swap the alias")
    reindex.add_argument("--keep-old", action="store_true", help="keep the previous index instead of deleting it")
    roles.add_parser("redrive", help="re-publish dead-lettered messages to articles.v1")
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging("index." + args.role, level=settings.log_level, json=settings.log_json)
    if args.role == "api":
        serve("newsflow_index.main:create_app", settings)
    elif args.role == "worker":
        from newsflow_index import worker

        worker.run(settings)
    elif args.role == "embedder":
        from newsflow_index import embedder

        embedder.run(settings)
    elif args.role == "reindex":
        from newsflow_index import reindex as rebuild

        print(f"alias {settings.elasticsearch.alias} now points at {rebuild.run(settings, keep_old=args.keep_old)}")
    else:
        from newsflow_index import redrive

        print(f"re-drove {redrive.run(settings)} messages to {settings.kafka.articles_topic}")
