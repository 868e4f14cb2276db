"""``newsflow-index <role>``: one process per role, so each scales on its own."""

import argparse

from newsflow_index.settings import Settings
from newsflow_kit.app import serve
from newsflow_kit.logging import configure_logging


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="newsflow-index", description=__doc__)
    parser.add_argument("role", choices=["api"])
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging("index." + args.role, level=settings.log_level, json=settings.log_json)
    if args.role == "api":
        serve("newsflow_index.main:create_app", settings)
