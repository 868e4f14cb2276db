"""The benchmarks' synthetic news corpus: seeded articles, realistic search queries, bulk loading.

Everything is seeded (``SEED``), so two runs and two benchmarks see the same data.
"""

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch, helpers

from newsflow_contracts import ArticleData
from newsflow_index.filters import build_filters
from newsflow_index.indices import ensure_alias
from newsflow_index.mapping import to_document
from newsflow_index.queries import search_body
from newsflow_index.settings import IndexingSettings

SEED = 20240501

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
        body: list[str] = []
        target = rng.randint(2000, 5000)
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


def queries(n: int) -> list[dict[str, Any]]:
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


def es_body(params: dict[str, Any]) -> dict[str, Any]:
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


def push_payloads(n: int, *, prefix: str = "push") -> list[dict[str, Any]]:
    """The corpus as a publisher's ``POST /articles`` bodies (HTML paragraphs, ISO dates)."""
    out = []
    for a in synthetic_articles(n, prefix=prefix):
        sentences = a.body_text.split(". ")
        paragraphs = [". ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
        out.append(
            {
                "title": a.title,
                "url": a.url,
                "body": "".join(f"<p>{p}</p>" for p in paragraphs),
                "summary": a.summary,
                "tags": a.tags,
                "language": a.language,
                "published_at": a.published_at.isoformat(),
            }
        )
    return out
