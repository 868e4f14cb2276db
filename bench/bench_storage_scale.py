"""``storage-scale`` (issue 9 item 7): store-bound operations as the data grows, next to raw pymongo.

At each size of NEWSFLOW_BENCH_SCALE_SIZES (default ``10000,50000,100000`` articles) the articles
are seeded through ingest's fast bulk path (``POST /articles:batch`` of 100, two in flight, seeded
synthetic articles of the search bench); NEWSFLOW_BENCH_SCALE_COMMENTED of them (default 1,000)
get 5 comments each through the comments HTTP API (it has no bulk path; the comments service is
used as documented, never its database). Then NEWSFLOW_BENCH_SCALE_SAMPLES (default 200) timed
calls of each operation, each next to raw pymongo doing the same store operations in the same run:

article push         POST /articles (a new article)       find latest + insert + update, same collection
read by id           GET /articles/{id}                   find latest version
since page           GET /articles?since=&limit=100       find two buckets
comment POST         POST /articles/{id}/comments          ordered insert of claim + hit, the client's marks
                                                           (by fingerprint, by address), insert the comment
thread GET           GET /articles/{id}/comments           the page's roots, then their replies
batch count of 50    POST /comments/counts (50 ids)        the visible comments of 50 articles (16 at a time)
keyed gateway req.   POST /v1/articles (unchanged, key     find latest version
                     cached: 0 key-store commands)

Processes: one ``newsflow-ingest api`` (fast path, private topic), one ``newsflow-comments api``
(its projection reads that topic), one ``newsflow-gateway api``; all on private databases.
Goals (on the local default): at 10k, article push p99 ≤ 60 ms, comment POST p99 ≤ 60 ms, thread
GET p99 ≤ 40 ms; at every size each operation ≥ 0.6× its baseline's throughput (ratio of p50
latencies ≤ 1.67). Do not run it on a shared machine: it seeds 100k articles.
"""

import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from pymongo import DESCENDING, MongoClient

from bench.common import Result, Role, summary
from bench.corpus import push_payloads
from newsflow_contracts import ARTICLES, COMMENTS, TopicSpec
from newsflow_kit.kafka import delete_topics, ensure_topics
from newsflow_kit.settings import KafkaSettings

NAME = "storage-scale"
SEED_BATCH = 100
IN_FLIGHT = 2
COMMENTS_PER_ARTICLE = 5
ADMIN_KEY = "bench-admin-" + uuid.uuid4().hex
PUSH_GOAL_MS, COMMENT_GOAL_MS, THREAD_GOAL_MS = 60.0, 60.0, 40.0
RATIO_GOAL = 1 / 0.6


@contextmanager
def platform(mongo_uri: str, kafka: KafkaSettings) -> Iterator[dict[str, Any]]:
    suffix = uuid.uuid4().hex[:8]
    topics = {"articles": f"{ARTICLES.name}-bench-{suffix}", "comments": f"{COMMENTS.name}-bench-{suffix}"}
    ensure_topics(
        kafka,
        [
            TopicSpec(topics["articles"], ARTICLES.partitions, ARTICLES.config),
            TopicSpec(topics["comments"], COMMENTS.partitions, COMMENTS.config),
        ],
    )
    dbs = {name: f"bench_scale_{suffix}_{name}" for name in ("ingest", "comments", "gateway", "raw")}
    common = {
        "NEWSFLOW_MONGO__URI": mongo_uri,
        "NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "NEWSFLOW_KAFKA__ARTICLES_TOPIC": topics["articles"],
        "NEWSFLOW_KAFKA__COMMENTS_TOPIC": topics["comments"],
        "NEWSFLOW_ADMIN_KEY": ADMIN_KEY,
    }
    mongo: MongoClient[dict[str, Any]] = MongoClient(mongo_uri, retryWrites=False)
    roles: list[Role] = []
    try:
        roles.append(ingest := Role.start("ingest", "api", {**common, "NEWSFLOW_MONGO__DATABASE": dbs["ingest"]}))
        lifted = {
            f"NEWSFLOW_COMMENTS__{k}": "1000000"
            for k in ("AUTHOR_PER_MINUTE", "AUTHOR_PER_HOUR", "ADDRESS_PER_MINUTE", "ADDRESS_PER_HOUR")
        }
        # many readers: each post comes from its own address (X-Forwarded-For from the bench, a trusted proxy)
        readers = {"NEWSFLOW_HTTP__TRUSTED_PROXIES": '["127.0.0.1/32"]'}
        comments_env = {**common, "NEWSFLOW_MONGO__DATABASE": dbs["comments"], **lifted, **readers}
        roles.append(comments := Role.start("comments", "api", comments_env))
        # the projection teaches the comments service the seeded articles (the api only answers HTTP)
        roles.append(Role.start("comments", "projection", comments_env, ready=False))
        gateway_env = {
            **common,
            "NEWSFLOW_MONGO__DATABASE": dbs["gateway"],
            "NEWSFLOW_SERVICES__INGEST_URL": ingest.url,
            "NEWSFLOW_SERVICES__COMMENTS_URL": comments.url,
            "NEWSFLOW_LIMITS__KEY_PER_S": "100000",
            "NEWSFLOW_LIMITS__KEY_BURST": "100000",
        }
        roles.append(gateway := Role.start("gateway", "api", gateway_env))
        yield {"ingest": ingest, "comments": comments, "gateway": gateway, "mongo": mongo, "dbs": dbs}
    finally:
        for role in roles:
            role.stop()
        for name in dbs.values():
            mongo.drop_database(name)
        mongo.close()
        delete_topics(kafka, list(topics.values()))


def seed_articles(base: str, source_id: str, payloads: list[dict[str, Any]]) -> list[str]:
    """The fast bulk path: batches of SEED_BATCH, two in flight, 503s retried; returns the article ids."""
    batches = [payloads[i : i + SEED_BATCH] for i in range(0, len(payloads), SEED_BATCH)]
    with httpx.Client(base_url=base, timeout=600) as client:

        def send(items: list[dict[str, Any]]) -> list[str]:
            for _ in range(10):  # a 503 (the store was slow to answer) is retried, as a publisher would
                resp = client.post("/articles:batch", json={"source_id": source_id, "items": items})
                if resp.status_code != 503:
                    break
                time.sleep(float(resp.headers.get("retry-after", "1")))
            resp.raise_for_status()
            return [r["id"] for r in resp.json()["items"] if r.get("id")]

        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            return [article_id for ids in pool.map(send, batches) for article_id in ids]


def reader(rng: random.Random) -> dict[str, str]:
    """The headers of one reader among many: its own address (through the trusted proxy) and browser."""
    address = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return {"X-Forwarded-For": address, "User-Agent": f"bench-reader/{rng.randrange(10**6)}"}


def comment_body(rng: random.Random) -> dict[str, str]:
    words = ["harbour", "council", "budget", "rail", "energy", "school", "river", "market", "storm", "vote"]
    return {"author_name": f"reader{rng.randrange(10_000)}", "body": " ".join(rng.choices(words, k=12)) + "."}


def seed_comments(base: str, article_ids: list[str], rng: random.Random) -> None:
    """5 comments on each article, through the API (waits for the comments projection to know them)."""
    with httpx.Client(base_url=base, timeout=60) as client:
        deadline = time.monotonic() + 600
        while client.post(f"/articles/{article_ids[-1]}/comments", json=comment_body(rng)).status_code >= 400:
            if time.monotonic() > deadline:
                raise RuntimeError("the comments service never learnt the seeded articles")
            time.sleep(0.5)

        def post(article_id: str) -> None:
            for _ in range(COMMENTS_PER_ARTICLE):
                body = comment_body(rng)
                for _ in range(10):  # a 503 (not stored: the store was slow) is retried, as a reader's browser would
                    resp = client.post(f"/articles/{article_id}/comments", json=body, headers=reader(rng))
                    if resp.status_code != 503:
                        break
                    time.sleep(float(resp.headers.get("retry-after", "1")))
                resp.raise_for_status()

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(post, article_ids))


def seed_raw_comments(raw: Any, commented: list[str], rng: random.Random) -> None:
    """The baseline's comments, and the per-post marks (claim, rate-limit hit) the service keeps beside
    each: the same numbers as the service holds, in bulk inserts (once per size)."""
    have = raw.estimated_document_count()
    want = len(commented) * COMMENTS_PER_ARTICLE
    if have >= want:
        return
    now = datetime.now(UTC)
    docs, marks = [], []
    for i in range(have, want):
        cid = uuid.uuid4().hex
        docs.append({"_id": cid, "article_id": commented[i // COMMENTS_PER_ARTICLE], **comment_body(rng),
                     "status": "visible", "depth": 0, "root_id": cid, "created_at": now})  # fmt: skip
        marks += raw_marks(f"reader{i}", f"10.0.{i // 256 % 256}.{i % 256}", now)
    for start in range(0, len(docs), 1000):
        raw.insert_many(docs[start : start + 1000])
        raw.database["marks"].insert_many(marks[start * 2 : (start + 1000) * 2])


def raw_marks(fingerprint: str, address: str, at: datetime) -> list[dict[str, Any]]:
    """A post's claim and its rate-limit hit, as the comments service writes them."""
    return [
        {"_id": f"claim:{uuid.uuid4().hex}", "kind": "claim", "at": at},
        {"_id": f"hit:{uuid.uuid4().hex}", "kind": "hit", "fp": fingerprint, "addr": address, "at": at},
    ]


def raw_visible(raw: Any, article_id: str) -> int:
    """How many visible comments an article has: the service's lookup per article of a batch count."""
    return len(list(raw.find({"article_id": article_id, "status": "visible"}, {"article_id": 1})))


def sample(fn: Callable[[int], Any], n: int) -> dict[str, float]:
    """Milliseconds of ``n`` sequential calls."""
    times = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - started) * 1000)
    return summary(times)


def measure(
    env: dict[str, Any],
    size: int,
    ids: list[str],
    commented: list[str],
    source_id: str,
    key: str,
    payloads: list[dict[str, Any]],
    samples: int,
    rng: random.Random,
) -> list[tuple[str, dict[str, float], dict[str, float], float | None]]:
    """Each operation: (name, ours in ms, raw pymongo in ms, p99 goal in ms or None)."""
    db = env["mongo"][env["dbs"]["ingest"]]
    versions = db["article_versions"]
    raw = env["mongo"][env["dbs"]["raw"]]["comments"]
    marks = env["mongo"][env["dbs"]["raw"]]["marks"]
    ing = httpx.Client(base_url=env["ingest"].url, timeout=60)
    com = httpx.Client(base_url=env["comments"].url, timeout=60)
    gw = httpx.Client(base_url=env["gateway"].url, timeout=60)
    fresh = [{**p, "url": f"{p['url']}-scale{size}-{i}"} for i, p in enumerate(payloads[:samples])]
    template = versions.find_one({"article_id": ids[0]}, {"_id": 0}) or {}
    headers = {"Authorization": f"Bearer {key}"}
    small = size <= 10_000
    lookups = ThreadPoolExecutor(16)  # the raw batch count sends its lookups as the service does

    def latest(article_id: str) -> None:
        list(versions.find({"article_id": article_id}).sort("version", DESCENDING).limit(1))

    def push(i: int) -> None:
        ing.post("/articles", json={**fresh[i], "source_id": source_id}).raise_for_status()

    def raw_push(i: int) -> None:
        raw_id = f"raw-{size}-{i}-{uuid.uuid4().hex[:6]}"
        latest(raw_id)
        versions.insert_one({**template, "_id": raw_id, "article_id": raw_id, "version": 1, "bucket": -1})
        versions.update_one({"_id": raw_id}, {"$set": {"bus": "sent"}})

    def page(_: int) -> None:
        ing.get("/articles", params={"since": rng.randrange(size), "limit": 100}).raise_for_status()

    def raw_page(_: int) -> None:
        bucket = rng.randrange(size) // 64
        list(versions.find({"bucket": bucket}))
        list(versions.find({"bucket": bucket + 1}))

    def comment(_: int) -> None:
        com.post(
            f"/articles/{rng.choice(commented)}/comments", json=comment_body(rng), headers=reader(rng)
        ).raise_for_status()

    def raw_comment(i: int) -> None:
        # the service's store operations for a post: claim + hit (one ordered insert), the client's
        # marks, the comment
        now = datetime.now(UTC)
        fingerprint, address = f"raw{size}-{i}", f"10.9.{i // 256 % 256}.{i % 256}"
        marks.insert_many(raw_marks(fingerprint, address, now), ordered=True)
        list(marks.find({"fp": fingerprint}))
        list(marks.find({"addr": address, "kind": "hit"}))
        cid = uuid.uuid4().hex
        doc = {"_id": cid, "article_id": rng.choice(commented), **comment_body(rng), "status": "visible"}
        raw.insert_one({**doc, "depth": 0, "root_id": cid, "created_at": now})

    def thread(_: int) -> None:
        com.get(f"/articles/{rng.choice(commented)}/comments").raise_for_status()

    def raw_thread(_: int) -> None:
        # the service's two reads: the page's roots, then their replies
        article_id = rng.choice(commented)
        roots = list(raw.find({"article_id": article_id, "depth": 0}).sort("created_at", 1).limit(20))
        list(raw.find({"article_id": article_id, "root_id": {"$in": [r["_id"] for r in roots]}, "depth": {"$gt": 0}}))

    def counts(_: int) -> None:
        com.post("/comments/counts", json={"article_ids": rng.sample(ids, 50)}).raise_for_status()

    def raw_counts(_: int) -> None:
        list(lookups.map(lambda article_id: raw_visible(raw, article_id), rng.sample(ids, 50)))

    def keyed(_: int) -> None:
        gw.post("/v1/articles", json=fresh[0], headers=headers).raise_for_status()

    try:
        seed_raw_comments(raw, commented, rng)
        out = [("article push", sample(push, samples), sample(raw_push, samples), PUSH_GOAL_MS if small else None)]
        out.append(("read by id", sample(lambda _: ing.get(f"/articles/{rng.choice(ids)}").raise_for_status(), samples),
                    sample(lambda _: latest(rng.choice(ids)), samples), None))  # fmt: skip
        out.append(("since page (100)", sample(page, samples), sample(raw_page, samples), None))
        out.append(("comment POST", sample(comment, samples), sample(raw_comment, samples),
                    COMMENT_GOAL_MS if small else None))  # fmt: skip
        out.append(("thread GET", sample(thread, samples), sample(raw_thread, samples),
                    THREAD_GOAL_MS if small else None))  # fmt: skip
        out.append(("batch count of 50", sample(counts, samples), sample(raw_counts, samples), None))
        keyed(0)  # the key is cached from here on
        out.append(("keyed gateway request", sample(keyed, samples), sample(lambda _: latest(ids[0]), samples), None))
        return out
    finally:
        versions.delete_many({"bucket": -1})
        for client in (ing, com, gw):
            client.close()
        lookups.shutdown()


def run() -> Result:
    sizes = [int(s) for s in os.environ.get("NEWSFLOW_BENCH_SCALE_SIZES", "10000,50000,100000").split(",")]
    samples = int(os.environ.get("NEWSFLOW_BENCH_SCALE_SAMPLES", "200"))
    commented_n = int(os.environ.get("NEWSFLOW_BENCH_SCALE_COMMENTED", "1000"))
    kafka = KafkaSettings(bootstrap_servers=os.environ.get("NEWSFLOW_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    mongo_uri = os.environ.get("NEWSFLOW_MONGO__URI", "mongodb://127.0.0.1:27017/")
    rng = random.Random(20261129)
    result = Result(NAME)
    payloads = push_payloads(max(sizes) + samples)
    with platform(mongo_uri, kafka) as env:
        ingest, gateway = env["ingest"].url, env["gateway"].url
        source_id = httpx.post(f"{ingest}/sources", json={"name": "bench-scale", "kind": "push"}).json()["id"]
        key = httpx.post(
            f"{gateway}/v1/admin/keys",
            json={"name": "bench", "role": "publisher", "source_id": source_id},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        ).json()["key"]
        ids: list[str] = []
        commented: list[str] = []
        for size in sorted(sizes):
            started = time.perf_counter()
            ids += seed_articles(ingest, source_id, payloads[len(ids) : size])
            seeded_s = time.perf_counter() - started
            started = time.perf_counter()
            want = min(commented_n, len(ids))
            if len(commented) < want:
                seed_comments(env["comments"].url, ids[len(commented) : want], rng)
                commented = ids[:want]
            comments_s = time.perf_counter() - started
            for op, ours, base, goal in measure(
                env, size, ids, commented, source_id, key, payloads[size:], samples, rng
            ):
                ratio_goal = f"ratio ≤ {RATIO_GOAL:.2f}"
                label = f"{size / 1000:g}k {op}"
                ratio_met = ours["median"] <= RATIO_GOAL * base["median"]
                result.add(f"{label} p50", ours["median"], base["median"], "ms", ratio_goal, ratio_met)
                p99_goal, p99_met = (f"≤ {goal:.0f} ms", ours["p99"] <= goal) if goal else ("", None)
                result.add(f"{label} p99", ours["p99"], base["p99"], "ms", p99_goal, p99_met)
            result.notes.append(
                f"{size} articles: seeded in {seeded_s:.0f} s (bulk path), comments on {len(commented)} articles "
                f"({COMMENTS_PER_ARTICLE} each) in {comments_s:.0f} s; {samples} samples per operation"
            )
            result.print()  # each size on its own: a long run stopped at the next size keeps these
            result.save()
    result.notes.append(
        "comments are seeded on NEWSFLOW_BENCH_SCALE_COMMENTED articles only: the comments API has no bulk path"
    )
    return result
