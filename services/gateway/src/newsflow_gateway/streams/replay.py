"""What a resuming subscriber missed: from the hub's recent changes, or else from ingest's change list."""

from newsflow_contracts import ArticleData
from newsflow_gateway.backends import Backends, Service
from newsflow_gateway.metrics import STREAM_RESUMES
from newsflow_gateway.settings import StreamSettings
from newsflow_gateway.streams.events import ArticleEvent
from newsflow_gateway.streams.filters import ArticleFilter
from newsflow_gateway.streams.hub import Hub
from newsflow_gateway.streams.recent import Missed

# Without a pushed-down filter (a free-text query) replay scans changes to find matches: bounded too.
SCAN_FACTOR = 10


async def missed_since(
    *, hub: Hub, backends: Backends, flt: ArticleFilter, since: int, settings: StreamSettings
) -> Missed:
    """Changes after ``since`` that match ``flt``, in ``seq`` order, at most ``replay_max`` of them.

    Await it right after adding the subscription to the hub: the buffer is read before the first
    suspension, so every change is either in that read or delivered live, never both or neither.
    """
    recent = hub.recent.since(flt, since, settings.replay_max)
    if recent is not None:
        STREAM_RESUMES.labels(source="memory").inc()
        return recent
    STREAM_RESUMES.labels(source="store").inc()
    events: list[ArticleEvent] = []
    cursor, scanned = str(since), 0
    params = {"source": flt.source, "tag": flt.tag, "lang": flt.lang, "limit": settings.replay_page}
    while True:
        page = await backends.call(Service.INGEST, "GET", "/articles", params={**params, "since": cursor})
        items = page.get("items") or []
        for raw in items:
            article = ArticleData.model_validate(raw)
            scanned += 1
            if article.seq <= since or not flt.matches(article):
                continue
            if len(events) >= settings.replay_max:
                return Missed(events, complete=False)
            events.append(ArticleEvent.replayed(article))
        next_cursor = page.get("next_cursor")
        if not next_cursor:  # ingest's cursor is gap-free: this is everything committed so far
            return Missed(events, complete=True)
        if scanned >= settings.replay_max * SCAN_FACTOR:
            return Missed(events, complete=False)
        cursor = str(next_cursor)
