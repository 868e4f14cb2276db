"""The poller's worker processes: parsing and normalising there gives what the poller itself gives,
and a worker that dies is replaced without losing the call."""

import os
import signal
from dataclasses import replace
from datetime import UTC, datetime

from newsflow_ingest.domain.feeds import parse_feed
from newsflow_ingest.processes import WorkerPool, run_off_loop
from newsflow_ingest.records import Source
from newsflow_ingest.schemas import ArticleIn, SourceKind
from newsflow_ingest.service import build_all

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item><guid>g</guid>
<title>Tram network grows by ten stations</title><link>https://n.example/tram</link>
<description>&lt;p&gt;The council approved the tram plan after long public hearings in the city.&lt;/p&gt;</description>
</item></channel></rss>"""
SOURCE = Source(id="wire", name="The Wire", kind=SourceKind.PUSH, language="en")


async def test_work_in_the_pool_equals_work_in_the_poller() -> None:
    pool = WorkerPool(1)
    try:
        assert await pool.run(parse_feed, RSS, "application/rss+xml", "https://n.example/") == await run_off_loop(
            None, parse_feed, RSS, "application/rss+xml", "https://n.example/"
        )
        article = ArticleIn.model_validate(
            {"title": "Tram news", "url": "https://n.example/tram", "body": "<p>The council met.</p><script>x</script>"}
        )
        (pooled,), (inline,) = await pool.run(build_all, [(article, SOURCE)]), build_all([(article, SOURCE)])
        now = datetime.now(UTC)  # published_at and updated_at are "now" where the article gave no date
        assert replace(pooled, published_at=now, updated_at=now) == replace(inline, published_at=now, updated_at=now)
        assert "<script" not in pooled.body_html
    finally:
        pool.close()


async def test_a_dead_worker_is_replaced_and_the_call_answered() -> None:
    pool = WorkerPool(1)
    try:
        pid = await pool.run(os.getpid)
        assert pid != os.getpid()
        os.kill(pid, signal.SIGKILL)
        feed = await pool.run(parse_feed, RSS, "application/rss+xml", "https://n.example/")
        assert [item.url for item in feed.items] == ["https://n.example/tram"]
        assert await pool.run(os.getpid) != pid
    finally:
        pool.close()
