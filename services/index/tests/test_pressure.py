"""The AI roles give way to indexing (pressure.py): the rule on a clock of its own, the rate read from
the real Elasticsearch."""

from elasticsearch import Elasticsearch

from newsflow_index.indices import ensure_alias
from newsflow_index.pressure import IndexingPressure, index_total
from newsflow_index.settings import AiYieldSettings, IndexingSettings
from newsflow_kit.settings import ElasticsearchSettings

CONFIG = AiYieldSettings(writes_per_s=50, quiet_s=3, max_s=10, check_s=0.5)


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
