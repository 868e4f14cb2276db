"""``search``: the index API's ``/search`` QPS and latency at a realistic corpus, against ES directly.

corpus     NEWSFLOW_BENCH_SEARCH_ARTICLES synthetic articles (default 100,000; seeded), bulk-loaded
           into a private alias with the service's own mapping (loading is not measured)
ours       GET /search on one `newsflow-index api` process: mixed queries (words, phrases,
           exclusions, prefixes, source/tag/language/date filters, 20% newest-first), facets always
baseline   the very same Elasticsearch request bodies the API builds, POSTed straight to
           `<alias>/_search` with the same client and the same concurrency
each rep   NEWSFLOW_BENCH_SEARCH_SECONDS (default 8) of closed-loop load at NEWSFLOW_BENCH_CONCURRENCY
           (default 16) clients; 5 repetitions, ours and baseline alternating; medians reported
"""

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from elasticsearch import Elasticsearch, helpers

from bench.common import Result, summary
from newsflow_contracts import ArticleData
from newsflow_index.filters import build_filters
from newsflow_index.indices import ensure_alias
from newsflow_index.mapping import to_document
from newsflow_index.queries import search_body
from newsflow_index.settings import IndexingSettings
from newsflow_kit.testing import free_port

NAME = "search"
ES_URL = os.environ.get("NEWSFLOW_ELASTICSEARCH__URL", "http://127.0.0.1:9200")
SEED = 20240501
REPS = 5

EN_WORDS = [
    "government",
    "minister",
    "election",
    "vote",
    "parliament",
    "president",
    "economy",
    "market",
    "inflation",
    "bank",
    "rates",
    "oil",
    "gas",
    "energy",
    "sanctions",
    "trade",
    "export",
    "import",
    "climate",
    "storm",
    "flood",
    "heatwave",
    "wildfire",
    "police",
    "court",
    "trial",
    "judge",
    "law",
    "reform",
    "health",
    "hospital",
    "vaccine",
    "virus",
    "school",
    "university",
    "students",
    "teachers",
    "strike",
    "union",
    "workers",
    "wages",
    "jobs",
    "company",
    "profits",
    "shares",
    "investors",
    "technology",
    "software",
    "startup",
    "data",
    "privacy",
    "security",
    "attack",
    "cyber",
    "military",
    "army",
    "border",
    "refugees",
    "migration",
    "city",
    "council",
    "housing",
    "prices",
    "rent",
    "transport",
    "railway",
    "airport",
    "flights",
    "football",
    "club",
    "match",
    "season",
    "coach",
    "player",
    "cup",
    "league",
    "olympic",
    "team",
    "record",
    "science",
    "space",
    "mission",
    "rocket",
    "research",
    "study",
    "report",
    "officials",
    "said",
    "today",
    "week",
    "year",
    "people",
    "country",
    "region",
    "capital",
    "talks",
    "deal",
    "agreement",
    "summit",
    "leaders",
    "crisis",
]
RU_WORDS = [
    "правительство",
    "министр",
    "выборы",
    "голосование",
    "парламент",
    "президент",
    "экономика",
    "рынок",
    "инфляция",
    "банк",
    "ставка",
    "нефть",
    "газ",
    "энергетика",
    "санкции",
    "торговля",
    "экспорт",
    "климат",
    "шторм",
    "наводнение",
    "жара",
    "полиция",
    "суд",
    "реформа",
    "здоровье",
    "больница",
    "школа",
    "университет",
    "студенты",
    "забастовка",
    "работники",
    "зарплаты",
    "компания",
    "прибыль",
    "акции",
    "технологии",
    "данные",
    "безопасность",
    "армия",
    "граница",
    "город",
    "совет",
    "жильё",
    "цены",
    "транспорт",
    "аэропорт",
    "футбол",
    "клуб",
    "матч",
    "сезон",
    "команда",
    "наука",
    "космос",
    "ракета",
]
DE_WORDS = [
    "regierung",
    "minister",
    "wahl",
    "wirtschaft",
    "markt",
    "inflation",
    "bank",
    "energie",
    "klima",
    "stadt",
    "polizei",
    "gericht",
    "schule",
]
WORDS = {"en": EN_WORDS, "ru": RU_WORDS, "de": DE_WORDS}
SOURCES = [f"source-{i}" for i in range(12)]
TAGS = [f"tag{i}" for i in range(40)]


def _sentences(rng: random.Random, words: list[str], n: int) -> list[str]:
    return [" ".join(rng.choices(words, k=rng.randint(8, 20))).capitalize() + "." for _ in range(n)]


def synthetic_articles(n: int, *, seed: int = SEED, prefix: str = "bench") -> Iterator[ArticleData]:
    """Seeded articles of realistic size: title ~80 chars, body 2-5 KB, 0-6 tags, 12 sources, 3 languages."""
    rng = random.Random(seed)
    pools = {lang: _sentences(rng, words, 3000) for lang, words in WORDS.items()}
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(n):
        lang = rng.choices(["en", "ru", "de"], weights=[70, 20, 10])[0]
        title = " ".join(rng.choices(WORDS[lang], k=10))[:80].capitalize()
        body, target = [], rng.randint(2000, 5000)
        while sum(len(s) + 1 for s in body) < target:
            body.append(rng.choice(pools[lang]))
        published = now - timedelta(seconds=rng.randint(0, 30 * 86400))
        yield ArticleData(
            id=f"{prefix}-{i}",
            version=1,
            seq=i,
            source_id=(source := rng.choice(SOURCES)),
            source_name=source.title(),
            url=f"https://example.com/{prefix}/{i}",
            canonical_url=f"https://example.com/{prefix}/{i}",
            title=title,
            summary=body[0],
            body_text=" ".join(body),
            tags=sorted(set(rng.choices(TAGS, weights=[1 / (k + 1) for k in range(len(TAGS))], k=rng.randint(0, 6)))),
            language=lang,
            published_at=published,
            updated_at=published,
        )


def _queries(n: int) -> list[dict[str, Any]]:
    """Realistic query-string parameters: 1-3 words, phrases, exclusions, prefixes, filters, some newest-first."""
    rng = random.Random(SEED + 1)
    out = []
    for _ in range(n):
        words = WORDS["en"] if rng.random() < 0.75 else WORDS["ru"]
        terms = rng.sample(words, rng.randint(1, 3))
        shape = rng.random()
        if shape < 0.1 and len(terms) > 1:
            q = f'"{terms[0]} {terms[1]}"'
        elif shape < 0.2 and len(terms) > 1:
            q = f"{terms[0]} -{terms[1]}"
        elif shape < 0.25:
            q = terms[0][:4] + "*"
        else:
            q = " ".join(terms)
        params: dict[str, Any] = {"q": q, "size": 20}
        if rng.random() < 0.3:
            params["source"] = rng.choice(SOURCES)
        if rng.random() < 0.3:
            params["tag"] = rng.choice(TAGS[:10])
        if rng.random() < 0.2:
            params["lang"] = "en" if words is WORDS["en"] else "ru"
        if rng.random() < 0.2:
            params["from"] = (datetime(2026, 1, 1) - timedelta(days=rng.randint(1, 14))).date().isoformat()
        if rng.random() < 0.2:
            params["sort"] = "newest"
        out.append(params)
    return out


def _es_body(params: dict[str, Any]) -> dict[str, Any]:
    """What the API sends to Elasticsearch for these parameters (same builder, same validation)."""
    filters = build_filters(
        sources=[params["source"]] if "source" in params else [],
        tags=[params["tag"]] if "tag" in params else [],
        languages=[params["lang"]] if "lang" in params else [],
        date_from=params.get("from"),
        date_to=None,
    )
    return search_body(
        q=params["q"], filters=filters, sort=params.get("sort", "relevance"), size=params["size"], after=None,
        as_of=datetime.now(UTC).replace(microsecond=0),
    )  # fmt: skip


def load_corpus(es: Elasticsearch, alias: str, n: int) -> float:
    """Bulk-loads the corpus (refresh off while loading); returns the seconds it took."""
    started = time.perf_counter()
    index = ensure_alias(es, alias, IndexingSettings())
    es.indices.put_settings(index=index, settings={"refresh_interval": "-1"})
    actions = (
        {"_index": index, "_id": a.id, "version": 1, "version_type": "external", "_source": to_document(a)}
        for a in synthetic_articles(n)
    )
    for ok, item in helpers.streaming_bulk(es, actions, chunk_size=1000, max_retries=3, raise_on_error=False):
        if not ok:
            raise RuntimeError(f"bulk load failed: {item}")
    es.indices.put_settings(index=index, settings={"refresh_interval": "1s"})
    es.indices.refresh(index=index)
    es.indices.forcemerge(index=index, max_num_segments=1)
    return time.perf_counter() - started


async def closed_loop(
    send: Callable[[httpx.AsyncClient, int], Any], *, seconds: float, concurrency: int
) -> tuple[float, list[float], int]:
    """``concurrency`` clients sending back to back for ``seconds``; returns QPS, latencies (ms), errors."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client_loop(client: httpx.AsyncClient, worker: int) -> None:
        nonlocal errors
        i = worker
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await send(client, i)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status_code != 200
            i += concurrency

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(client, w) for w in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, errors


def run() -> Result:
    n = int(os.environ.get("NEWSFLOW_BENCH_SEARCH_ARTICLES", "100000"))
    seconds = float(os.environ.get("NEWSFLOW_BENCH_SEARCH_SECONDS", "8"))
    concurrency = int(os.environ.get("NEWSFLOW_BENCH_CONCURRENCY", "16"))
    alias = f"bench-search-{os.getpid()}"
    es = Elasticsearch(ES_URL, request_timeout=600)
    port = free_port()
    env = {
        **os.environ,
        "NEWSFLOW_PORT": str(port),
        "NEWSFLOW_ELASTICSEARCH__ALIAS": alias,
        "NEWSFLOW_ELASTICSEARCH__URL": ES_URL,
        "NEWSFLOW_LOG_LEVEL": "WARNING",
    }
    api: subprocess.Popen[bytes] | None = None
    try:
        load_s = load_corpus(es, alias, n)
        exe = Path(sys.executable).parent / "newsflow-index"
        api = subprocess.Popen([str(exe), "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_ready(f"http://127.0.0.1:{port}/readyz")
        queries = _queries(500)
        bodies = [json.dumps(_es_body(p)).encode() for p in queries]
        api_url, es_url = f"http://127.0.0.1:{port}/search", f"{ES_URL}/{alias}/_search"

        def ours(client: httpx.AsyncClient, i: int) -> Any:
            return client.get(api_url, params=queries[i % len(queries)])

        def baseline(client: httpx.AsyncClient, i: int) -> Any:
            body = bodies[i % len(bodies)]
            return client.post(es_url, content=body, headers={"content-type": "application/json"})

        asyncio.run(closed_loop(ours, seconds=2, concurrency=concurrency))  # warm caches and JIT on both paths
        asyncio.run(closed_loop(baseline, seconds=2, concurrency=concurrency))
        figures: dict[str, dict[str, list[float]]] = {"ours": {}, "baseline": {}}
        errors = 0
        for _ in range(REPS):
            for name, send in (("ours", ours), ("baseline", baseline)):
                qps, latencies, failed = asyncio.run(closed_loop(send, seconds=seconds, concurrency=concurrency))
                stats = summary(latencies)
                errors += failed
                for key, value in (("qps", qps), ("p50", stats["median"]), ("p99", stats["p99"])):
                    figures[name].setdefault(key, []).append(value)
    finally:
        if api is not None:
            api.terminate()
            api.wait(15)
        es.indices.delete(index=f"{alias}*", ignore_unavailable=True, allow_no_indices=True)
        es.close()

    result = Result(NAME)
    ours_s = {k: summary(v) for k, v in figures["ours"].items()}
    base_s = {k: summary(v) for k, v in figures["baseline"].items()}
    result.add(
        "index api /search QPS (median of 5)",
        ours_s["qps"]["median"],
        base_s["qps"]["median"],
        "req/s",
        "≥ 0.7× baseline",
    )
    result.add("index api /search p50", ours_s["p50"]["median"], base_s["p50"]["median"], "ms", "≤ baseline + 3 ms")
    result.add("index api /search p99", ours_s["p99"]["median"], base_s["p99"]["median"], "ms")
    for key in ("qps", "p50", "p99"):
        result.notes.append(
            f"{key}: ours min/max {ours_s[key]['min']:.1f}/{ours_s[key]['max']:.1f}, "
            f"baseline min/max {base_s[key]['min']:.1f}/{base_s[key]['max']:.1f}"
        )
    result.notes.append(
        f"corpus {n} synthetic articles (loaded in {load_s:.0f}s, not measured); {concurrency} clients, "
        f"{seconds:.0f}s per rep; baseline = the same ES bodies straight to ES; non-200 answers: {errors}"
    )
    result.notes.append("through the gateway: not measured here (the gateway's own benchmark adds that hop)")
    return result


def _wait_ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready within {timeout}s")
