"""``newsflow-comments <role>``: one process per role, so each scales on its own.

api         threads, posting, votes, moderation (port 8003); answers HTTP only
projection  consumes articles.v1 into article_refs (scale up to the topic's partitions)
worker      publishes comments.v1, folds votes into scores, cleans up (run one)
"""

import argparse

from newsflow_comments.settings import Settings
from newsflow_kit.app import serve
from newsflow_kit.logging import configure_logging


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="newsflow-comments", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("role", choices=["api", "projection", "worker"])
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging("comments." + args.role, level=settings.log_level, json=settings.log_json)
    if args.role == "api":
        serve("newsflow_comments.main:create_app", settings)
    elif args.role == "projection":
        from newsflow_comments import projection

        projection.run(settings)
    else:
        from newsflow_comments import worker

        worker.run(settings)
