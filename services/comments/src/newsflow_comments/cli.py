"""``newsflow-comments <role>``: one process per role, so each scales on its own.

api         threads, posting, votes, moderation (port 8003); answers HTTP only
projection  consumes articles.v1 into article_refs (scale up to the topic's partitions)
worker      publishes comments.v1, folds votes into scores, cleans up (run one)
"""

from newsflow_comments import bootstrap
from newsflow_comments.settings import Settings
from newsflow_kit.roles import Role, dispatch

ROLES: list[Role[Settings]] = [
    Role("api", "threads, posting, votes, moderation", bootstrap.run_api),
    Role("projection", "consume articles.v1 into article_refs", bootstrap.run_projection),
    Role("worker", "publish comments.v1, fold votes into scores, clean up", bootstrap.run_worker),
]


def main(argv: list[str] | None = None) -> None:
    dispatch("newsflow-comments", __doc__, ROLES, Settings, argv)
