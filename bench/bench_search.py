"""``search``: search QPS and latency through the index API and through the gateway, against ES directly.

corpus     NEWSFLOW_BENCH_SEARCH_ARTICLES synthetic articles (default 100,000; seeded, bench/corpus.py),
           bulk-loaded into a private alias with the service's own mapping (loading is not measured)
ours       GET /search on one `newsflow-index api` process, and GET /v1/search on one
           `newsflow-gateway api` in front of it: mixed queries (words, phrases, exclusions,
           prefixes, source/tag/language/date filters, 20% newest-first), facets always
baseline   the very same Elasticsearch request bodies the API builds, POSTed straight to
           `<alias>/_search` with the same client and the same concurrency
each rep   NEWSFLOW_BENCH_SEARCH_SECONDS (default 6) of closed-loop load at 1 client and at
           NEWSFLOW_BENCH_CONCURRENCY (default 16) clients; 5 repetitions, the three targets
           alternating within each; medians reported (min/max in the notes)
goals      QPS ≥ 0.8× Elasticsearch; p50 overhead ≤ 3 ms at 1 client and ≤ 10 ms at 16
"""

import asyncio
import json
import os
from typing import Any

import httpx
from elasticsearch import Elasticsearch

from bench.common import ES_URL, Result, Role, closed_loop, summary
from bench.corpus import es_body, load_corpus, queries

NAME = "search"
REPS = 5
TARGETS = ("elasticsearch", "index api", "gateway")


def run() -> Result:
    n = int(os.environ.get("NEWSFLOW_BENCH_SEARCH_ARTICLES", "100000"))
    seconds = float(os.environ.get("NEWSFLOW_BENCH_SEARCH_SECONDS", "6"))
    concurrencies = (1, int(os.environ.get("NEWSFLOW_BENCH_CONCURRENCY", "16")))
    alias = f"bench-search-{os.getpid()}"
    es = Elasticsearch(ES_URL, request_timeout=600)
    roles: list[Role] = []
    result = Result(NAME)
    figures: dict[tuple[str, int], dict[str, list[float]]] = {}
    try:
        load_s = load_corpus(es, alias, n)
        index = Role.start(
            "index", "api", {"NEWSFLOW_ELASTICSEARCH__ALIAS": alias, "NEWSFLOW_ELASTICSEARCH__URL": ES_URL}
        )
        roles.append(index)
        gateway_env = {
            "NEWSFLOW_SERVICES__INDEX_URL": index.url,
            "NEWSFLOW_MONGO__DATABASE": f"bench_search_{os.getpid()}",
            "NEWSFLOW_LIMITS__ANONYMOUS_BURST": "10000000",
            "NEWSFLOW_LIMITS__ANONYMOUS_PER_S": "10000000",
        }
        gateway = Role.start("gateway", "api", gateway_env)
        roles.append(gateway)
        params = queries(500)
        bodies = [json.dumps(es_body(p)).encode() for p in params]
        es_url = f"{ES_URL}/{alias}/_search"

        def send_es(client: httpx.AsyncClient, i: int) -> Any:
            body = bodies[i % len(bodies)]
            return client.post(es_url, content=body, headers={"content-type": "application/json"})

        def send_index(client: httpx.AsyncClient, i: int) -> Any:
            return client.get(f"{index.url}/search", params=params[i % len(params)])

        def send_gateway(client: httpx.AsyncClient, i: int) -> Any:
            return client.get(f"{gateway.url}/v1/search", params=params[i % len(params)])

        senders = dict(zip(TARGETS, (send_es, send_index, send_gateway), strict=True))
        for send in senders.values():  # warm caches and JIT on every path
            asyncio.run(closed_loop(send, seconds=2, concurrency=concurrencies[-1]))
        for _ in range(REPS):
            for concurrency in concurrencies:
                for target, send in senders.items():
                    load = asyncio.run(closed_loop(send, seconds=seconds, concurrency=concurrency))
                    result.error(f"{target} at {concurrency} clients", load)
                    stats = summary(load.latencies)
                    cell = figures.setdefault((target, concurrency), {})
                    for key, value in (("qps", load.rate), ("p50", stats["median"]), ("p99", stats["p99"])):
                        cell.setdefault(key, []).append(value)
    finally:
        for role in roles:
            role.stop()
        es.indices.delete(index=f"{alias}*", ignore_unavailable=True, allow_no_indices=True)
        es.close()
    _report(result, figures, concurrencies)
    result.notes.append(
        f"corpus {n} synthetic articles (loaded in {load_s:.0f}s, not measured); {seconds:.0f}s per rep and "
        "target; baseline = the same ES bodies straight to ES"
    )
    return result


def _report(
    result: Result, figures: dict[tuple[str, int], dict[str, list[float]]], concurrencies: tuple[int, ...]
) -> None:
    for concurrency in concurrencies:
        base = {k: summary(v) for k, v in figures[("elasticsearch", concurrency)].items()}
        overhead_goal = 3.0 if concurrency == 1 else 10.0
        for target in TARGETS[1:]:
            ours = {k: summary(v) for k, v in figures[(target, concurrency)].items()}
            label = f"{target} @{concurrency}"
            qps, base_qps = ours["qps"]["median"], base["qps"]["median"]
            result.add(f"{label} QPS", qps, base_qps, "req/s", "≥ 0.8× ES", qps >= 0.8 * base_qps)
            p50, base_p50 = ours["p50"]["median"], base["p50"]["median"]
            result.add(
                f"{label} p50", p50, base_p50, "ms", f"≤ ES + {overhead_goal:.0f} ms", p50 - base_p50 <= overhead_goal
            )
            result.add(f"{label} p99", ours["p99"]["median"], base["p99"]["median"], "ms")
            result.notes.append(
                f"{label}: QPS min/max {ours['qps']['min']:.0f}/{ours['qps']['max']:.0f} "
                f"(ES {base['qps']['min']:.0f}/{base['qps']['max']:.0f}); p50 min/max "
                f"{ours['p50']['min']:.1f}/{ours['p50']['max']:.1f} ms "
                f"(ES {base['p50']['min']:.1f}/{base['p50']['max']:.1f})"
            )
