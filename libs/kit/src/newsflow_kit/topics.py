"""``newsflow-topics``: creates the platform's Kafka topics (idempotent); `make infra` runs it."""

import argparse
import logging

from newsflow_contracts import all_topics
from newsflow_kit.kafka import ensure_topics
from newsflow_kit.logging import configure_logging
from newsflow_kit.settings import ServiceSettings


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(prog="newsflow-topics", description=__doc__).parse_args(argv)
    settings = ServiceSettings()
    configure_logging("topics", level=settings.log_level, json=False)
    ensure_topics(settings.kafka, all_topics())
    logging.getLogger(__name__).info("topics ready: %s", ", ".join(t.name for t in all_topics()))
