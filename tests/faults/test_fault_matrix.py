"""The fault matrix: each fault strikes while articles are pushed, feeds polled and SSE clients follow,
and afterwards MongoDB, ``articles.v1``, Elasticsearch and every resumed SSE client agree exactly
(same articles, same latest versions, nothing delivered twice after a resume).

Runs against the private stack of ``conftest.py``; the shared servers are never touched. Fault
durations are the faults themselves (a server down for N seconds), not waits for a condition.
``NEWSFLOW_FAULTS_SEED`` replays a run of the random role kills.
"""

import os
import random
import signal
import time
from collections.abc import Callable

import pytest

from newsflow_kit.testing import eventually

from .conftest import FaultPlatform
from .workload import Publisher, Watchers, assert_agreement, assert_whole_store_agrees, register_publisher

SEED = int(os.environ.get("NEWSFLOW_FAULTS_SEED") or random.randrange(2**32))
DOWN_S = 8.0
FREEZE_S = 30.0

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _under_load(platform: FaultPlatform, fault: Callable[[Publisher], None], *, clients: int = 20) -> Publisher:
    """Starts the clients and the publisher, strikes, waits for progress after the fault, checks agreement."""
    publisher = register_publisher(platform.url, platform.admin_key, SEED)
    watchers = Watchers(platform.url, publisher.source_id, clients).start()
    try:
        eventually(lambda: watchers.connected() == clients, timeout=90, interval=0.5)
        publisher.start()
        eventually(lambda: len(publisher.expected) >= 10, timeout=60, interval=0.2)
        fault(publisher)
        platform.all_ready()
        after = len(publisher.expected)
        eventually(lambda: len(publisher.expected) >= after + 10, timeout=180, interval=0.5)
        publisher.stop()
        assert_agreement(platform.settings, publisher, watchers)
    finally:
        publisher._stop.set()
        watchers.stop()
    assert_whole_store_agrees(platform.settings)
    print(f"statuses {dict(publisher.statuses)}, errors {dict(publisher.errors)}, {len(publisher.expected)} articles")
    return publisher


def test_kafka_killed_and_restarted_mid_stream(healthy: FaultPlatform) -> None:
    def fault(_: Publisher) -> None:
        healthy.stack.kill("kafka")
        time.sleep(DOWN_S)
        healthy.stack.start("kafka")

    _under_load(healthy, fault)


def test_mongodb_wire_server_and_its_database_killed_and_restarted(healthy: FaultPlatform) -> None:
    def fault(publisher: Publisher) -> None:
        before = publisher.statuses[503]
        healthy.stack.kill("ferretdb")
        healthy.stack.kill("postgres")
        # While the store is down, publishers are told 503 + Retry-After (the workload fails on a 500).
        eventually(lambda: publisher.statuses[503] > before, timeout=60, interval=0.2)
        time.sleep(DOWN_S)
        healthy.stack.start("postgres", "ferretdb")

    _under_load(healthy, fault)


def test_elasticsearch_killed_and_restarted(healthy: FaultPlatform) -> None:
    def fault(_: Publisher) -> None:
        healthy.stack.kill("elasticsearch")
        time.sleep(DOWN_S)
        healthy.stack.start("elasticsearch")

    _under_load(healthy, fault)


def test_every_role_sigkilled_once_at_a_random_moment(healthy: FaultPlatform) -> None:
    rng = random.Random(SEED)
    print(f"role kills with NEWSFLOW_FAULTS_SEED={SEED}")
    order = sorted(healthy.roles)
    rng.shuffle(order)

    def fault(_: Publisher) -> None:
        for name in order:
            time.sleep(rng.uniform(0.5, 4.0))
            print(f"SIGKILL {name}")
            healthy.roles[name].kill()
            healthy.restart(name)

    # The gateway's 200 SSE clients all reconnect with Last-Event-ID when it dies.
    _under_load(healthy, fault, clients=200)


@pytest.mark.parametrize("server", ["kafka", "elasticsearch", "postgres", "ferretdb"])
def test_server_frozen_for_30s(healthy: FaultPlatform, server: str) -> None:
    def fault(_: Publisher) -> None:
        healthy.stack.signal(server, signal.SIGSTOP)
        try:
            time.sleep(FREEZE_S)
        finally:
            healthy.stack.signal(server, signal.SIGCONT)

    _under_load(healthy, fault)
