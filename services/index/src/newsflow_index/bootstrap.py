"""The composition root of index: builds the clients of the background roles and wires them in.

``cli.py`` maps each role to a ``run_*`` function here. Each function imports its role's modules
itself, so a worker does not load the embedder's model code at start. (The api's lifespan,
``reindex`` and ``redrive`` still open their own clients; moving them here is the next step.)
"""

import argparse
import logging
import os

from newsflow_index.indices import ensure_alias_with_retry
from newsflow_index.settings import Settings
from newsflow_kit.app import serve
from newsflow_kit.consumer import run_until_signalled
from newsflow_kit.search import sync_elasticsearch

log = logging.getLogger(__name__)


def run_api(settings: Settings, _args: argparse.Namespace) -> None:
    serve("newsflow_index.main:create_app", settings)


def run_worker(settings: Settings, _args: argparse.Namespace) -> None:
    """Prepares the alias, then consumes until SIGTERM/SIGINT."""
    from newsflow_index import worker

    es = sync_elasticsearch(settings.elasticsearch)
    try:
        index = ensure_alias_with_retry(es, settings.elasticsearch.alias, settings.indexing)
        log.info("worker writing through alias %s (now %s)", settings.elasticsearch.alias, index)
        run_until_signalled(worker.build_loop(settings, es))
    finally:
        es.close()


def run_embedder(settings: Settings, _args: argparse.Namespace) -> None:
    """Loads the model, waits for an index with the vector field, then consumes until SIGTERM/SIGINT."""
    from newsflow_index import embedder
    from newsflow_index.embedding import E5Embedder  # loads the model: only this role pays for it

    os.nice(settings.embedder.nice)
    model = E5Embedder(threads=settings.embedder.threads)
    es = sync_elasticsearch(settings.elasticsearch)
    try:
        index = embedder.wait_for_current_mapping(es, settings)
        log.info("embedder writing through alias %s (now %s) with %s", settings.elasticsearch.alias, index, model.name)
        run_until_signalled(embedder.build_loop(settings, es, model))
    finally:
        es.close()


def run_summarizer(settings: Settings, _args: argparse.Namespace) -> None:
    """Loads the model, waits for an index with the digest fields, then summarises until SIGTERM/SIGINT."""
    from newsflow_index import embedder, summarizer
    from newsflow_index.embedding import E5Embedder

    config = settings.summarizer
    if config.idle_priority:  # behind serving, indexing and the embedder's vectors (niced, not idle)
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    model = E5Embedder(threads=config.threads)
    es = sync_elasticsearch(settings.elasticsearch)
    try:
        index = embedder.wait_for_current_mapping(es, settings)
        log.info("summarizer writing through alias %s (now %s)", settings.elasticsearch.alias, index)
        loop = summarizer.Summarizer(
            es,
            settings.elasticsearch.alias,
            model,
            batch_size=config.batch_size,
            max_sentences=config.max_sentences,
            idle_s=config.idle_s,
        )
        run_until_signalled(loop)
    finally:
        es.close()


def run_reindex(settings: Settings, args: argparse.Namespace) -> None:
    from newsflow_index import reindex

    name = reindex.run(settings, keep_old=args.keep_old)
    print(f"alias {settings.elasticsearch.alias} now points at {name}")  # noqa: T201 (the command's answer)


def run_redrive(settings: Settings, _args: argparse.Namespace) -> None:
    from newsflow_index import redrive

    count = redrive.run(settings)
    print(f"re-drove {count} messages to {settings.kafka.articles_topic}")  # noqa: T201 (the command's answer)
