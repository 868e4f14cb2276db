"""The gateway's own Prometheus metrics (prefix ``newsflow_gateway_``)."""

from prometheus_client import Counter, Gauge

STREAM_CONNECTIONS = Gauge("newsflow_gateway_stream_connections", "Open SSE and WebSocket connections.")
STREAM_EVENTS = Counter("newsflow_gateway_stream_events_total", "Events read from Kafka for fan-out.", ["topic"])
STREAM_CUT_OFF = Counter(
    "newsflow_gateway_stream_cut_off_total", "Subscribers disconnected because their queue overflowed."
)
PARTIAL_ANSWERS = Counter(
    "newsflow_gateway_partial_answers_total", "Article pages answered without a part.", ["missing"]
)
STREAM_RESUMES = Counter(
    "newsflow_gateway_stream_resumes_total",
    "Stream resumes by where the missed changes were read: the replica's recent changes or ingest.",
    ["source"],
)
