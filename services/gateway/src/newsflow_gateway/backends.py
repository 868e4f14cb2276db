"""The HTTP client of the backing services; their answers and errors become the gateway's.

Errors are relayed as problem details: a backing service's 4xx keeps its status, title, detail and
field errors; a 5xx, a time-out or a refused connection becomes a 502/503 with a generic detail, so
no internal host name or stack trace reaches a client.

The client is aiohttp's (as the Elasticsearch client's): on the search path, httpx's request and
connection-pool machinery was a quarter of the gateway's CPU per request (profiled, docs/benchmarks.md).
"""

import asyncio
import json as jsonlib
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import aiohttp
from fastapi import Response
from yarl import URL

from newsflow_contracts import ArticleData, ArticleStatus
from newsflow_gateway.settings import ServicesSettings
from newsflow_kit.context import request_id_var, traceparent_var
from newsflow_kit.errors import PROBLEM_BASE, DependencyUnavailable, InvalidInput, NewsflowError

log = logging.getLogger(__name__)

Params = dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """What a backing service answered: its status, reason, media type and body."""

    status: int
    reason: str
    media_type: str
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body)


class Service(StrEnum):
    INGEST = "ingest"
    INDEX = "index"
    COMMENTS = "comments"


class UpstreamError(NewsflowError):
    """A backing service refused the request; relayed with its own status and wording."""

    def __init__(self, *, status: int, code: str, title: str, detail: str, errors: list[dict[str, Any]] | None):
        super().__init__(detail, errors=errors)
        self.status, self.code, self.title = status, code, title


class BadGateway(NewsflowError):
    status, code, title = 502, "bad-gateway", "Bad gateway"


def segment(value: str) -> str:
    """One path segment, quoted so a client's id can never change the internal path."""
    return quote(value, safe="")


class Backends:
    """One shared HTTP client session for ingest, index and comments (opened at first use)."""

    def __init__(self, settings: ServicesSettings) -> None:
        self._urls = {
            Service.INGEST: settings.ingest_url.rstrip("/"),
            Service.INDEX: settings.index_url.rstrip("/"),
            Service.COMMENTS: settings.comments_url.rstrip("/"),
        }
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout_s, connect=min(settings.timeout_s, 2.0))
        self._max_connections = settings.max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # created in the running loop, as aiohttp wants
            connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self,
        service: Service,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Sends one request and returns its JSON body; raises the relayed problem on failure."""
        response = await self._send(service, method, path, params=params, json=json, headers=headers, timeout=timeout)
        if response.status == 204 or not response.body:
            return None
        try:
            return response.json()
        except ValueError:
            log.warning("%s %s %s answered non-JSON", service, method, path)
            raise BadGateway(f"the {service} service gave an unreadable answer") from None

    async def relay(
        self,
        service: Service,
        path: str,
        *,
        method: str = "GET",
        params: Params | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """A request whose answer (status and body) is passed on as the backing service wrote it.

        For routes that only relay: the backing service validated and serialised the answer against
        the same contract, so decoding, validating and encoding it again here would cost the gateway
        about a tenth of its CPU per search (profiled) and change nothing; its status stands too (a
        retried comment POST is 200, not 201). Errors are relayed as by :meth:`call`.
        """
        response = await self._send(service, method, path, params=params, json=json, headers=headers, timeout=None)
        if response.media_type != "application/json":
            log.warning("%s %s %s answered non-JSON", service, method, path)
            raise BadGateway(f"the {service} service gave an unreadable answer")
        return Response(response.body, status_code=response.status, media_type="application/json")

    async def _send(
        self,
        service: Service,
        method: str,
        path: str,
        *,
        params: Params | None,
        json: Any,
        headers: dict[str, str] | None,
        timeout: float | None,
    ) -> Answer:
        extra = {**(headers or {}), **_context_headers()}
        data = None
        if json is not None:
            try:  # as httpx did: compact UTF-8, and NaN, Infinity or unpaired surrogates are not JSON text
                data = jsonlib.dumps(json, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
            except ValueError:
                raise _unencodable() from None
            extra["content-type"] = "application/json"
        try:
            async with self._client().request(
                method,
                URL(self._urls[service] + path, encoded=True),  # ids are quoted already (segment)
                params=_query(params),
                data=data,
                headers=extra,
                timeout=aiohttp.ClientTimeout(total=timeout) if timeout is not None else self._timeout,
            ) as response:
                answer = Answer(response.status, response.reason or "", response.content_type, await response.read())
        except TimeoutError as exc:
            log.warning("%s %s %s timed out: %r", service, method, path, exc)
            raise DependencyUnavailable(f"the {service} service did not answer in time") from None
        except aiohttp.ClientError as exc:
            log.warning("%s %s %s failed: %r", service, method, path, exc)
            raise DependencyUnavailable(f"the {service} service is unavailable") from None
        if answer.status >= 400:
            raise _relayed(service, method, path, answer)
        return answer

    async def published(self, ids: list[str], *, concurrency: int, timeout: float) -> list[ArticleData | None]:
        """Each article read whole from ingest, in order; ``None`` where it is not published or not readable in time."""
        limit = asyncio.Semaphore(concurrency)

        async def whole(article_id: str) -> ArticleData | None:
            async with limit:
                try:
                    async with asyncio.timeout(timeout):
                        raw = await self.call(Service.INGEST, "GET", f"/articles/{segment(article_id)}")
                except (NewsflowError, TimeoutError):
                    return None
            article = ArticleData.model_validate(raw)
            return article if article.status is ArticleStatus.PUBLISHED else None

        return list(await asyncio.gather(*(whole(i) for i in ids)))


def _query(params: Params | None) -> list[tuple[str, str]]:
    """Query pairs as httpx wrote them: None left out, lists repeated, booleans lower-case."""
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is not None:
                pairs.append((key, str(item).lower() if isinstance(item, bool) else str(item)))
    return pairs


def _unencodable() -> InvalidInput:
    message = "the body holds values JSON cannot carry (NaN, Infinity or unpaired surrogates)"
    return InvalidInput(message, errors=[{"field": "body", "message": message, "type": "value_error"}])


def _context_headers() -> dict[str, str]:
    """The request id and trace travel on, so one request reads as one story across services."""
    out = {}
    if (rid := request_id_var.get()) is not None:
        out["x-request-id"] = rid
    if (tp := traceparent_var.get()) is not None:
        out["traceparent"] = tp
    return out


def _relayed(service: Service, method: str, path: str, response: Answer) -> NewsflowError:
    status = response.status
    if status >= 500:
        text = response.body[:500].decode(errors="replace")
        log.warning("%s %s %s answered %d: %s", service, method, path, status, text)
        if status == 503:
            return DependencyUnavailable(f"the {service} service is unavailable")
        return BadGateway(f"the {service} service failed")
    body = _problem_body(response)
    kind = str(body.get("type", ""))
    code = kind.removeprefix(PROBLEM_BASE) if kind.startswith(PROBLEM_BASE) else _generic_code(status)
    errors = body.get("errors")
    return UpstreamError(
        status=status,
        code=code,
        title=str(body.get("title") or response.reason or "Error")[:200],
        detail=str(body.get("detail") or response.reason or "")[:2000],
        errors=[e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else None,
    )


def _problem_body(response: Answer) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _generic_code(status: int) -> str:
    return {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 409: "conflict"}.get(
        status, "error"
    )
