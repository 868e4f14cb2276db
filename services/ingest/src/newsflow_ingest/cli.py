"""``newsflow-ingest <role>``: one process per role, so each scales on its own.

api      push, sources and article reads (port 8001)
relay    publishes article changes that stayed pending to articles.v1
poller   fetches due feeds (several pollers share the work through leases)
demo     serves the generated demo feeds, registers them, and pushes a fresh article every ~20 s
"""

from newsflow_ingest import bootstrap
from newsflow_ingest.settings import Settings
from newsflow_kit.roles import Role, dispatch

ROLES: list[Role[Settings]] = [
    Role("api", "push, sources and article reads", bootstrap.run_api),
    Role("relay", "publish article changes that stayed pending", bootstrap.run_relay),
    Role("poller", "fetch due feeds", bootstrap.run_poller),
    Role("demo", "serve the demo feeds and push demo articles", bootstrap.run_demo),
]


def main(argv: list[str] | None = None) -> None:
    dispatch("newsflow-ingest", __doc__, ROLES, Settings, argv)
