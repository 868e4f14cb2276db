"""`make soak`: mixed load for NEWSFLOW_SOAK_S seconds (default 600) against every role run as its own
process (as `make up` runs them), on private topics, databases and index alias of the stack that
NEWSFLOW_* settings point at (the local stack by default).

Load: publishers pushing and updating articles, the poller polling the demo feeds, searches, comment
posts, and NEWSFLOW_SOAK_CLIENTS (default 1000) SSE clients that keep disconnecting and resuming with
Last-Event-ID. It passes when: no 5xx answer, nothing lost or duplicated (MongoDB, the articles topic,
Elasticsearch and every SSE client agree with what was acknowledged), the RSS of each process grew
less than 10 % between warm-up and the end (high-water marks sampled every 2 s, of the prelude and the
first fifth of the run against the last minute and the drain after it: see ``RssPeaks``), and the consumer lag of
every group was back to 0 within 10 s of the load stopping (the embedder, niced by design, within
300 s). Prints a table; writes a JSON report
(NEWSFLOW_SOAK_REPORT, default bench/results/soak.json). Exit status 0 when it passed.
"""

import json
import os
import random
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from newsflow_kit.settings import KafkaSettings  # noqa: E402
from newsflow_kit.testing import ServiceProcess, delete_private_topics, eventually, private_topics  # noqa: E402
from tests.faults.platform import start_roles  # noqa: E402
from tests.faults.workload import (  # noqa: E402
    Publisher,
    Watchers,
    _diff,
    es_versions,
    kafka_versions,
    mongo_versions,
    register_publisher,
)

DURATION_S = float(os.environ.get("NEWSFLOW_SOAK_S", "600"))
CLIENTS = int(os.environ.get("NEWSFLOW_SOAK_CLIENTS", "1000"))
REPORT = Path(os.environ.get("NEWSFLOW_SOAK_REPORT", ROOT / "bench/results/soak.json"))
RSS_GROWTH_MAX = 0.10
WARM_UP_ARTICLES = 160  # per publisher, pushed at once: 10 full embedder batches in all
SUMMARIZER_PRELUDE_S = 30.0
LAG_WITHIN_S = 10.0
# The embedder runs at niceness 19 (docs/ai.md): while the load keeps both cores busy it falls behind
# by design and drains its backlog once they are free, so it is held to a bound of its own.
TRAILING_WITHIN_S = {"index-embedder": 300.0}
ADMIN_KEY = "soak-admin-" + secrets.token_hex(16)


@dataclass
class Traffic:
    """Searches and comment posts at a steady pace; counts answers by status."""

    url: str
    words: list[str]
    articles: dict[str, int]
    statuses: Counter[int] = field(default_factory=Counter)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        rng = random.Random(7)
        with httpx.Client(base_url=self.url, timeout=15) as client:
            while not self.stop.is_set():
                try:
                    if rng.random() < 0.7 or not self.articles:
                        resp = client.get("/v1/search", params={"q": rng.choice(self.words), "size": 20})
                    else:
                        article = rng.choice(list(self.articles.copy()))
                        body = {"author_name": f"Soak {rng.randrange(1000)}", "body": "A soak comment."}
                        # many readers, each behind the proxy the gateway trusts (its own address)
                        ip = f"10.9.{rng.randrange(256)}.{rng.randrange(256)}"
                        headers = {"X-Forwarded-For": ip, "User-Agent": f"soak-reader/{ip}"}
                        resp = client.post(f"/v1/articles/{article}/comments", json=body, headers=headers)
                    self.statuses[resp.status_code] += 1
                except httpx.HTTPError:
                    self.statuses[0] += 1
                time.sleep(0.05)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def rss(roles: dict[str, ServiceProcess]) -> dict[str, int]:
    return {name: rss_kb(p.proc.pid) for name, p in roles.items() if p.proc is not None and p.proc.poll() is None}


class RssPeaks:
    """Samples each process's RSS every ``every_s`` and answers its peak within a time window.

    A working process's RSS swings with what it holds at the moment (the embedder's model scratch
    moves it by ~20 MB within a batch), so two single readings compare phases, not memory. The
    soak compares high-water marks of like phases, each holding work in whole batches by every role:
    the prelude (a few batches pushed and drained before the load) through the minute after warm-up,
    against the last minute of load and the drain after it. A leak raises the second; a swing shows
    in both. (The embedder, niced, is starved while the load runs: a window of load alone would
    compare it idle with it working.)
    """

    def __init__(self, roles: dict[str, ServiceProcess], *, every_s: float = 2.0) -> None:
        self.roles, self.every_s = roles, every_s
        self.samples: list[tuple[float, dict[str, int]]] = []
        self.stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self.stop.wait(self.every_s):
            self.samples.append((time.monotonic(), rss(self.roles)))

    def peak(self, start: float, end: float) -> dict[str, int]:
        peaks: dict[str, int] = {}
        for at, sample in list(self.samples):
            if start <= at <= end:
                for name, kb in sample.items():
                    peaks[name] = max(peaks.get(name, 0), kb)
        return peaks


def lags(bootstrap: str, topics: set[str]) -> dict[str, int]:
    """Per consumer group reading ``topics``: the sum of (end offset - committed offset)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    groups = [g.group_id for g in admin.list_consumer_groups().result(timeout=10).valid]
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": "soak-lag-" + secrets.token_hex(3)})
    out: dict[str, int] = {}
    try:
        for group in groups:
            offsets = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])
            for tp in offsets[group].result(timeout=10).topic_partitions:
                if tp.topic not in topics or tp.offset < 0:
                    continue
                _low, high = probe.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
                out[group] = out.get(group, 0) + max(0, high - tp.offset)
    finally:
        probe.close()
    return out


def drain_times(bootstrap: str, topics: set[str], stopped: float, timeout_s: float) -> dict[str, float | None]:
    """Seconds from the load stopping until each group's lag was 0 (None: not within ``timeout_s``)."""
    drained: dict[str, float | None] = {}
    while True:
        now = time.monotonic() - stopped
        for group, lag in lags(bootstrap, topics).items():
            if lag == 0 and drained.get(group) is None:
                drained[group] = now
            elif lag > 0:
                drained[group] = None  # behind again (or still)
        if drained and all(t is not None for t in drained.values()) or now > timeout_s:
            return drained
        time.sleep(0.5)


def main() -> int:
    suffix = secrets.token_hex(3)
    base = KafkaSettings(bootstrap_servers=os.environ.get("NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    kafka = private_topics(base, f"soak-{suffix}")
    mongo_uri = os.environ.get("NEWSFLOW_MONGO__URI", "mongodb://127.0.0.1:27017/")
    es_url = os.environ.get("NEWSFLOW_ELASTICSEARCH__URL", "http://127.0.0.1:9200")
    alias = f"soak-articles-{suffix}"
    ingest_db = f"soak_{suffix}_ingest"  # the one start_roles gives ingest
    common = {
        "NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "NEWSFLOW_KAFKA__ARTICLES_TOPIC": kafka.articles_topic,
        "NEWSFLOW_KAFKA__COMMENTS_TOPIC": kafka.comments_topic,
        "NEWSFLOW_KAFKA__ARTICLES_DLQ_TOPIC": kafka.articles_dlq_topic,
        "NEWSFLOW_MONGO__URI": mongo_uri,
        "NEWSFLOW_ELASTICSEARCH__URL": es_url,
        "NEWSFLOW_ELASTICSEARCH__ALIAS": alias,
        "NEWSFLOW_ADMIN_KEY": ADMIN_KEY,
        # the soak's clients stand behind a proxy on loopback: readers are told apart by X-Forwarded-For
        "NEWSFLOW_HTTP__TRUSTED_PROXIES": '["127.0.0.1/32"]',
    }
    roles: dict[str, ServiceProcess] = {}
    result: dict[str, Any] = {"duration_s": DURATION_S, "clients": CLIENTS}
    try:
        databases = {name: f"soak_{suffix}_{name}" for name in ("ingest", "comments", "gateway")}
        start_roles(common, roles, databases=databases)
        result |= run_load(roles, kafka, mongo_uri, ingest_db, es_url, alias)
    finally:
        for proc in reversed(list(roles.values())):
            proc.stop()
        delete_private_topics(kafka)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print_table(result)
    print(f"report: {REPORT}")
    return 0 if result["passed"] else 1


def run_load(
    roles: dict[str, ServiceProcess], kafka: KafkaSettings, mongo_uri: str, ingest_db: str, es_url: str, alias: str
) -> dict[str, Any]:
    url = roles["gateway-api"].url
    publishers = [register_publisher(url, ADMIN_KEY, seed) for seed in range(2)]
    watchers = [Watchers(url, p.source_id, CLIENTS // 2, churn_s=(5.0, 30.0)).start() for p in publishers]
    eventually(lambda: all(w.connected() == len(w.clients) for w in watchers), timeout=300, interval=1)
    topics = {kafka.articles_topic, kafka.comments_topic}
    peaks = RssPeaks(roles)
    prelude = time.monotonic()
    # The prelude: every role works whole batches before the load, the niced AI roles too. A burst
    # faster than the embedder embeds leaves it a backlog (full batches of 32, its working size);
    # the summarizer, which reads the index and has no consumer group, gets the idle machine after.
    bursts = [threading.Thread(target=p.push_new, args=(WARM_UP_ARTICLES,)) for p in publishers]
    for burst in bursts:
        burst.start()
    for burst in bursts:
        burst.join()
    drain_times(kafka.bootstrap_servers, topics, time.monotonic(), timeout_s=120)
    time.sleep(SUMMARIZER_PRELUDE_S)
    for p in publishers:
        p.start()
    traffic = Traffic(url, ["harbour", "fault", "story", "revision"], publishers[0].expected)
    threading.Thread(target=traffic.run, daemon=True).start()
    started = time.monotonic()
    window = min(60.0, DURATION_S / 5)
    time.sleep(DURATION_S - (time.monotonic() - started))
    finished = time.monotonic()
    traffic.stop.set()
    for p in publishers:
        p.stop()
    stopped = time.monotonic()
    drained = drain_times(kafka.bootstrap_servers, topics, stopped, timeout_s=max(TRAILING_WITHIN_S.values()))
    peaks.stop.set()
    # High-water marks of like phases: the prelude and the minute after warm-up, against the last
    # minute of load and the drain after it. Each holds a stretch where every role works whole
    # batches (the embedder is starved while the load runs and works in the prelude and the drain).
    warm = peaks.peak(prelude, started + DURATION_S / 5 + window)
    end = peaks.peak(finished - window, time.monotonic())
    serving = [t for group, t in drained.items() if group not in TRAILING_WITHIN_S]
    lag_s = None if not serving or None in serving else max(t for t in serving if t is not None)
    trailing_ok = all(
        (t := drained.get(group)) is not None and t <= bound for group, bound in TRAILING_WITHIN_S.items()
    )
    problems: list[str] = []
    for p, w in zip(publishers, watchers, strict=True):
        problems += [f"publisher: {b}" for b in p.bad[:5]]
        try:
            _agree(p, w, kafka, mongo_uri, ingest_db, es_url, alias)
        except AssertionError as exc:
            problems.append(str(exc)[:500])
    for w in watchers:
        w.stop()
    statuses = Counter[int]()
    for p in publishers:
        statuses.update(p.statuses)
    statuses.update(traffic.statuses)
    fivexx = sum(n for s, n in statuses.items() if s >= 500)
    # Publishers retry 503 (with Retry-After) by design; the soak wants none at all.
    growth = {name: (end[name] - warm[name]) / warm[name] for name in end if warm.get(name)}
    passed = (
        fivexx == 0
        and not problems
        and all(g < RSS_GROWTH_MAX for g in growth.values())
        and lag_s is not None
        and lag_s <= LAG_WITHIN_S
        and trailing_ok
    )
    return {
        "passed": passed,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "fivexx": fivexx,
        "articles": sum(len(p.expected) for p in publishers),
        "sse_events": sum(c.events for w in watchers for c in w.clients),
        "sse_connects": sum(c.connects for w in watchers for c in w.clients),
        "sse_repeats": sum(len(c.repeats) for w in watchers for c in w.clients),
        "rss_kb_warm": warm,
        "rss_kb_end": end,
        "rss_growth": growth,
        "lag_zero_after_s": lag_s,
        "lag_zero_after_s_by_group": drained,
        "problems": problems,
    }


def _agree(p: Publisher, w: Watchers, kafka: KafkaSettings, mongo_uri: str, db: str, es_url: str, alias: str) -> None:
    def same() -> bool:
        for name, held in (
            ("mongodb", mongo_versions(mongo_uri, p.source_id, database=db)),
            ("articles topic", kafka_versions(kafka.bootstrap_servers, kafka.articles_topic, p.source_id)),
            ("elasticsearch", es_versions(es_url, p.source_id, alias)),
        ):
            assert held == p.expected, f"{name}: {_diff(p.expected, held)}"
        for n, c in enumerate(w.clients):
            assert c.latest == p.expected, f"SSE client {n}: {_diff(p.expected, c.latest)}"
            assert not c.repeats, f"SSE client {n} got {len(c.repeats)} events twice"
        return True

    eventually(same, timeout=120, interval=3)


def print_table(result: dict[str, Any]) -> None:
    verdict = "PASSED" if result.get("passed") else "FAILED"
    print(f"\nsoak {result['duration_s']:.0f}s, {result['clients']} SSE clients: {verdict}")
    for key in ("statuses", "fivexx", "articles", "sse_events", "sse_connects", "sse_repeats", "lag_zero_after_s"):
        print(f"  {key:<18} {result.get(key)}")
    for group, seconds in sorted(result.get("lag_zero_after_s_by_group", {}).items()):
        print(f"  lag 0 after (s)    {group}: {'not drained' if seconds is None else f'{seconds:.1f}'}")
    print("  RSS peaks: prelude to the minute after warm-up (warm); last minute and drain (end)")
    print(f"  {'process':<18} {'rss warm MB':>12} {'rss end MB':>11} {'growth':>8}")
    for name, warm in sorted(result.get("rss_kb_warm", {}).items()):
        end = result["rss_kb_end"].get(name, 0)
        growth = result["rss_growth"].get(name, 0.0)
        print(f"  {name:<18} {warm / 1024:>12.1f} {end / 1024:>11.1f} {growth:>+8.1%}")
    for problem in result.get("problems", []):
        print(f"  problem: {problem}")


if __name__ == "__main__":
    sys.exit(main())
