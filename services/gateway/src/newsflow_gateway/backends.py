"""The HTTP client of the backing services; their answers and errors become the gateway's.

Errors are relayed as problem details: a backing service's 4xx keeps its status, title, detail and
field errors; a 5xx, a time-out or a refused connection becomes a 502/503 with a generic detail, so
no internal host name or stack trace reaches a client.
"""

import asyncio
import logging
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import Response

from newsflow_contracts import ArticleData, ArticleStatus
from newsflow_gateway.settings import ServicesSettings
from newsflow_kit.context import request_id_var, traceparent_var
from newsflow_kit.errors import PROBLEM_BASE, DependencyUnavailable, InvalidInput, NewsflowError

log = logging.getLogger(__name__)

Params = dict[str, Any]


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
    """One shared ``httpx.AsyncClient`` for ingest, index and comments."""

    def __init__(self, settings: ServicesSettings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._urls = {
            Service.INGEST: settings.ingest_url.rstrip("/"),
            Service.INDEX: settings.index_url.rstrip("/"),
            Service.COMMENTS: settings.comments_url.rstrip("/"),
        }
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.timeout_s, connect=min(settings.timeout_s, 2.0)),
            limits=httpx.Limits(max_connections=settings.max_connections, max_keepalive_connections=50),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

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
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            log.warning("%s %s %s answered non-JSON", service, method, path)
            raise BadGateway(f"the {service} service gave an unreadable answer") from None

    async def relay(
        self, service: Service, path: str, *, params: Params | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        """A read whose answer is passed on as the backing service wrote it.

        For routes that only relay: the backing service validated and serialised the answer against
        the same contract, so decoding, validating and encoding it again here would cost the gateway
        a third of its CPU per search (profiled) and change nothing. Errors are relayed as by :meth:`call`.
        """
        response = await self._send(service, "GET", path, params=params, json=None, headers=headers, timeout=None)
        if response.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            log.warning("%s GET %s answered non-JSON", service, path)
            raise BadGateway(f"the {service} service gave an unreadable answer")
        return Response(response.content, status_code=response.status_code, media_type="application/json")

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
    ) -> httpx.Response:
        sent = {k: v for k, v in (params or {}).items() if v is not None}
        extra = {**(headers or {}), **_context_headers()}
        kwargs: dict[str, Any] = {"params": sent, "headers": extra}
        if json is not None:
            kwargs["json"] = json
        if timeout is not None:
            kwargs["timeout"] = timeout
        try:
            request = self._client.build_request(method, self._urls[service] + path, **kwargs)
        except ValueError:  # NaN/Infinity or unpaired surrogates from a client's JSON: not JSON text
            raise _unencodable() from None
        try:
            response = await self._client.send(request)
        except httpx.TimeoutException as exc:
            log.warning("%s %s %s timed out: %r", service, method, path, exc)
            raise DependencyUnavailable(f"the {service} service did not answer in time") from None
        except httpx.TransportError as exc:
            log.warning("%s %s %s failed: %r", service, method, path, exc)
            raise DependencyUnavailable(f"the {service} service is unavailable") from None
        if response.status_code >= 400:
            raise _relayed(service, method, path, response)
        return response

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


def _relayed(service: Service, method: str, path: str, response: httpx.Response) -> NewsflowError:
    status = response.status_code
    if status >= 500:
        log.warning("%s %s %s answered %d: %s", service, method, path, status, response.text[:500])
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
        title=str(body.get("title") or response.reason_phrase or "Error")[:200],
        detail=str(body.get("detail") or response.reason_phrase or "")[:2000],
        errors=[e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else None,
    )


def _problem_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _generic_code(status: int) -> str:
    return {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 409: "conflict"}.get(
        status, "error"
    )
