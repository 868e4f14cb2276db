"""``newsflow-ingest <role>``: one process per role, so each scales on its own.

api      push, sources and article reads (port 8001)
relay    publishes article changes that stayed pending to articles.v1
poller   fetches due feeds (several pollers share the work through leases)
demo     serves the generated demo feeds, registers them, and pushes a fresh article every ~20 s
"""

import argparse

from newsflow_ingest.settings import Settings
from newsflow_kit.app import serve
from newsflow_kit.logging import configure_logging


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="newsflow-ingest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("role", choices=["api", "relay", "poller", "demo"])
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging("ingest." + args.role, level=settings.log_level, json=settings.log_json)
    if args.role == "api":
        serve("newsflow_ingest.main:create_app", settings)
    elif args.role == "relay":
        from newsflow_ingest import relay

        relay.run(settings)
    elif args.role == "poller":
        from newsflow_ingest import poller

        poller.run(settings)
    else:
        from newsflow_ingest import demo

        demo.run(settings)
