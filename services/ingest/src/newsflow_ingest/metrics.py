"""The ingest service's own Prometheus metrics."""

from prometheus_client import Counter

ARTICLES_WRITTEN = Counter("newsflow_ingest_articles_written_total", "Article versions stored.", ["event_type"])
RELAYED = Counter("newsflow_ingest_relayed_total", "Pending article changes the relay published.")
FEEDS_FETCHED = Counter("newsflow_ingest_feeds_fetched_total", "Feed fetches by outcome.", ["outcome"])
ITEMS_SKIPPED = Counter("newsflow_ingest_items_skipped_total", "Feed items skipped, by reason.", ["reason"])
FETCH_REFUSED = Counter("newsflow_ingest_fetch_refused_total", "Fetches refused by the SSRF guard.", ["reason"])
