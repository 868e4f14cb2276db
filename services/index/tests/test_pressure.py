"""The AI roles give way to indexing (pressure.py): the rule on a clock of its own, the rate read from
the real Elasticsearch."""

from elasticsearch import Elasticsearch

from newsflow_index.indices import ensure_alias, vectors_alias
from newsflow_index.pressure import IndexingPressure, VectorsBehind, index_total, vectors_behind
from newsflow_index.settings import AiYieldSettings, IndexingSettings
from newsflow_kit.settings import ElasticsearchSettings

CONFIG = AiYieldSettings(writes_per_s=50, quiet_s=3, max_s=10, check_s=0.5, vectors_behind=8)


class Indexing:
    """An alias's index_total on a clock the test moves: ``run(rate, seconds)`` indexes at ``rate``/s."""

    def __init__(self) -> None:
        self.now = 0.0
        self.total: int | None = 0

    def clock(self) -> float:
        return self.now

    def read(self) -> int | None:
        return self.total


def holds(
    pressure: IndexingPressure, indexing: Indexing, *, rate: float, seconds: float, step: float = 0.5
) -> list[bool]:
    """What ``hold`` answers every ``step`` seconds while the alias is written at ``rate``/s."""
    answers = []
    for _ in range(round(seconds / step)):
        indexing.now += step
        if indexing.total is not None:
            indexing.total += round(rate * step)
        answers.append(pressure.hold())
    return answers


def test_a_trickle_is_never_held_and_a_burst_is_held_until_it_has_been_quiet_for_quiet_s() -> None:
    indexing = Indexing()
    pressure = IndexingPressure(indexing.read, CONFIG, clock=indexing.clock)
    trickle = holds(pressure, indexing, rate=20, seconds=10)
    assert trickle[:2] == [True, True] and not any(trickle[2:])  # a first look settles; then the feed's pace goes on
    for _ in range(20):  # the same pace in bulks: 12 at once, then nothing for half a second
        assert not any(holds(pressure, indexing, rate=120, seconds=0.1, step=0.1))
        assert not any(holds(pressure, indexing, rate=0, seconds=0.5, step=0.1))
    burst = holds(pressure, indexing, rate=300, seconds=5)
    assert burst.index(True) <= 2 and all(burst[burst.index(True) :])  # a push burst: held within a second
    holds(pressure, indexing, rate=0, seconds=5)
    assert holds(pressure, indexing, rate=600, seconds=0.5) == [True]  # a push batch's bulk: held at once
    after = holds(pressure, indexing, rate=0, seconds=6)
    assert after[:5] == [True] * 5  # gaps between push batches do not let a batch of model work in
    assert not any(after[9:])  # quiet for quiet_s: resumed


def test_a_batch_after_a_quiet_spell_waits_for_a_fresh_window() -> None:
    indexing = Indexing()
    pressure = IndexingPressure(indexing.read, CONFIG, clock=indexing.clock)
    holds(pressure, indexing, rate=20, seconds=5)
    indexing.now += 60  # an idle role is not asked: it is waiting for messages
    assert pressure.hold()  # the burst's first batch in hand, before any of its bulks landed
    assert all(holds(pressure, indexing, rate=300, seconds=5))
    assert not any(holds(pressure, indexing, rate=0, seconds=10)[-10:])  # quiet for quiet_s: resumed
    indexing.now += 60
    trickle = holds(pressure, indexing, rate=20, seconds=5)
    assert trickle[:2] == [True, True] and not any(trickle[2:])  # a trickle waits WINDOW_S / 2 once


def test_a_hold_lasts_at_most_max_s_then_the_roles_work_as_long() -> None:
    indexing = Indexing()
    pressure = IndexingPressure(indexing.read, CONFIG, clock=indexing.clock)
    answers = holds(pressure, indexing, rate=500, seconds=40)  # load that never stops
    held = sum(answers) * 0.5
    assert 15 <= held <= 25  # about half of the time: vectors trail, they do not stop
    start = answers.index(True)
    assert (answers.index(False, start) - start) * 0.5 == CONFIG.max_s  # the first hold ended after max_s


def test_an_unreadable_rate_or_a_new_index_holds_nothing_and_zero_disables() -> None:
    indexing = Indexing()
    pressure = IndexingPressure(indexing.read, CONFIG, clock=indexing.clock)
    assert holds(pressure, indexing, rate=300, seconds=3)[-1]
    indexing.total = None  # Elasticsearch down: the roles' own writes meet it and back off
    assert not any(holds(pressure, indexing, rate=0, seconds=1))
    indexing.total = 5  # the alias moved to a fresh index: counting starts over
    assert not holds(pressure, indexing, rate=0, seconds=0.5)[0]
    off = IndexingPressure(indexing.read, CONFIG.model_copy(update={"writes_per_s": 0}), clock=indexing.clock)
    assert not any(holds(off, indexing, rate=10_000, seconds=5))


def test_the_rate_is_the_aliases_own_writes(es_alias: ElasticsearchSettings, es: Elasticsearch) -> None:
    alias = es_alias.alias
    read = index_total(es, alias)
    assert read() is None  # no alias yet
    ensure_alias(es, alias, IndexingSettings())
    before = read()
    assert before is not None
    es.bulk(
        operations=[op for i in range(30) for op in ({"index": {"_index": alias, "_id": f"a{i}"}}, {"id": f"a{i}"})]
    )
    assert read() == before + 30


def test_the_rate_is_read_at_most_once_per_check_s_however_often_batches_come() -> None:
    indexing = Indexing()
    reads = {"n": 0}

    def read() -> int | None:
        reads["n"] += 1
        return indexing.read()

    pressure = IndexingPressure(read, CONFIG, clock=indexing.clock)
    holds(pressure, indexing, rate=20, seconds=5, step=0.05)  # a trickle: a small batch every 50 ms
    assert reads["n"] == 10


class Backlog:
    """What the summarizer's reading says (articles published without their vector) on a test clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.behind: int | None = 0
        self.reads = 0

    def clock(self) -> float:
        return self.now

    def read(self) -> int | None:
        self.reads += 1
        return self.behind


def waits(
    rule: VectorsBehind, backlog: Backlog, *, behind: int | None, seconds: float, step: float = 0.5
) -> list[bool]:
    """What ``hold`` answers every ``step`` seconds while the embedder trails by ``behind``."""
    backlog.behind = behind
    answers = []
    for _ in range(round(seconds / step)):
        backlog.now += step
        answers.append(rule.hold())
    return answers


def test_the_summarizer_holds_while_vectors_trail_and_until_they_kept_up_for_quiet_s() -> None:
    backlog = Backlog()
    rule = VectorsBehind(backlog.read, CONFIG, clock=backlog.clock)
    assert not any(waits(rule, backlog, behind=CONFIG.vectors_behind, seconds=5))  # the feed's own in-flight few
    assert all(waits(rule, backlog, behind=100, seconds=5))  # the embedder has a backlog
    after = waits(rule, backlog, behind=0, seconds=5)
    assert after[:5] == [True] * 5 and not any(after[6:])  # kept up for quiet_s (3 s): resumed
    assert backlog.reads == 30  # one reading per check_s, however often it is asked
    rule.hold()
    assert backlog.reads == 30


def test_a_trailing_hold_is_bounded_and_unreadable_or_zero_holds_nothing() -> None:
    backlog = Backlog()
    rule = VectorsBehind(backlog.read, CONFIG, clock=backlog.clock)
    answers = waits(rule, backlog, behind=5000, seconds=40)  # an embedder that never catches up
    start = answers.index(True)
    assert (answers.index(False, start) - start) * 0.5 == CONFIG.max_s  # digests trail, they do not stop
    assert 15 <= sum(answers) * 0.5 <= 25
    fresh = VectorsBehind(backlog.read, CONFIG, clock=backlog.clock)
    assert not any(waits(fresh, backlog, behind=None, seconds=2))  # Elasticsearch down or no reading yet
    off = VectorsBehind(backlog.read, CONFIG.model_copy(update={"vectors_behind": 0}), clock=backlog.clock)
    assert not any(waits(off, backlog, behind=5000, seconds=2))


def test_the_backlog_is_read_from_the_alias_and_its_vectors_within_the_recent_window(
    es_alias: ElasticsearchSettings, es: Elasticsearch
) -> None:
    alias = es_alias.alias
    read = vectors_behind(es, alias, window=5)
    assert read() is None  # no alias yet
    ensure_alias(es, alias, IndexingSettings())

    def store(index: str, docs: list[dict[str, object]]) -> None:
        es.bulk(operations=[op for d in docs for op in ({"index": {"_index": index, "_id": d["id"]}}, d)], refresh=True)

    articles = [{"id": f"a{n}", "version": 1, "seq": n, "status": "published"} for n in range(1, 11)]
    store(alias, [*articles, {"id": "gone", "version": 2, "seq": 11, "status": "retracted"}])
    store(vectors_alias(alias), [{**a, "embedding_model": "m"} for a in articles[:7]])  # a8..a10 are pending
    assert read() is None  # the first reading only finds the window (the newest seq, 11)
    assert read() == 3  # a8, a9, a10: published without a vector, the retraction not counted
    store(vectors_alias(alias), [{**a, "embedding_model": "m"} for a in articles[7:9]])
    assert read() == 1
    store(alias, [{"id": f"b{n}", "version": 1, "seq": n, "status": "published"} for n in range(12, 32)])
    read()  # the window moves on to seq 31: a10, refused for ever, no longer counts ...
    assert read() == 5  # ... and a backlog of 20, longer than the window, reads as the window (held anyway)
