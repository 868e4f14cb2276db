"""Prometheus metrics: the HTTP ones every service shares, and ``/metrics``."""

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

HTTP_REQUESTS = Counter("newsflow_http_requests_total", "HTTP requests answered.", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "newsflow_http_request_duration_seconds",
    "Time to answer an HTTP request (to the first byte for streams).",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONSUMED = Counter("newsflow_consumer_messages_total", "Messages handled by a consumer loop.", ["consumer"])
DEAD_LETTERED = Counter(
    "newsflow_consumer_dead_lettered_total", "Messages sent to a dead-letter topic.", ["consumer", "reason"]
)
CONSUMER_RETRIES = Counter(
    "newsflow_consumer_retries_total", "Batches retried after a failure of the effect.", ["consumer"]
)
PUBLISHED = Counter("newsflow_events_published_total", "Events acknowledged by Kafka.", ["topic", "event_type"])


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus exposition of this process's metrics."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
