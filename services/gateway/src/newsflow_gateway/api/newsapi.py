"""The NewsAPI-compatible surface (``/v2``): their routes, parameter names, answers and error envelope.

A key is required, as on NewsAPI: ``X-Api-Key: <key>``, ``Authorization: <key>`` (or ``Bearer <key>``)
or ``?apiKey=<key>``; any valid Newsflow key works (``newsflow-gateway keys create --role reader``).
Not in the OpenAPI schema: NewsAPI's documentation is the contract, docs/compat.md the differences.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.requests import HTTPConnection

from newsflow_gateway.compat import newsapi, newsapi_params
from newsflow_gateway.compat.newsapi_errors import NewsApiError, NewsApiRoute
from newsflow_gateway.compat.newsapi_params import ArticleQuery
from newsflow_gateway.compat.newsapi_schemas import ArticlesResponse, SourcesResponse
from newsflow_gateway.deps import Gateway, GatewayDep, client_address
from newsflow_gateway.keys import Principal
from newsflow_gateway.ratelimit import Rate


def presented_key(conn: HTTPConnection) -> str | None:
    """The key wherever NewsAPI accepts it: ``X-Api-Key``, ``Authorization`` (bare or Bearer), ``apiKey=``."""
    if key := conn.headers.get("x-api-key", "").strip():
        return key
    if header := conn.headers.get("authorization", "").strip():
        scheme, _, rest = header.partition(" ")
        return rest.strip() if scheme.lower() == "bearer" and rest.strip() else header
    params = {name.lower(): value for name, value in conn.query_params.items()}
    return params.get("apikey", "").strip() or None


async def reader(conn: HTTPConnection, gw: GatewayDep) -> Principal:
    """The caller's key, after its rate limit; a missing or bad key spends the address's tokens."""
    limits = gw.settings.limits
    key = presented_key(conn)
    principal = await gw.keys.authenticate(key) if key else None
    if principal is None:
        gw.limiter.hit(f"ip:{client_address(conn)}", Rate(limits.anonymous_per_s, limits.anonymous_burst))
        if key is None:
            raise NewsApiError(
                401,
                "apiKeyMissing",
                "Your API key is missing. Append this to the URL with the apiKey param, "
                "or use the X-Api-Key HTTP header.",
            )
        raise NewsApiError(401, "apiKeyInvalid", "Your API key is invalid or incorrect. Check your key, or create one.")
    gw.limiter.hit(f"key:{principal.key_id}", Rate(limits.key_per_s, limits.key_burst))
    return principal


router = APIRouter(
    prefix="/v2",
    tags=["newsapi"],
    route_class=NewsApiRoute,
    include_in_schema=False,
    dependencies=[Depends(reader)],
)


async def _params(request: Request) -> dict[str, str]:
    return dict(request.query_params)


QueryParams = Annotated[dict[str, str], Depends(_params)]


async def _articles(gw: Gateway, query: ArticleQuery) -> ArticlesResponse:
    settings = gw.settings
    timeout = settings.services.part_timeout_s
    return await newsapi.articles(backends=gw.backends, query=query, settings=settings.compat, part_timeout=timeout)


@router.get("/everything", response_model=ArticlesResponse)
async def everything(gw: GatewayDep, params: QueryParams) -> ArticlesResponse:
    """Search every article (NewsAPI ``/v2/everything``)."""
    return await _articles(gw, newsapi_params.everything(params))


@router.get("/top-headlines", response_model=ArticlesResponse)
async def top_headlines(gw: GatewayDep, params: QueryParams) -> ArticlesResponse:
    """The newest articles (NewsAPI ``/v2/top-headlines``)."""
    return await _articles(gw, newsapi_params.top_headlines(params))


@router.get("/top-headlines/sources", response_model=SourcesResponse)
@router.get("/sources", response_model=SourcesResponse)
async def sources(gw: GatewayDep, params: QueryParams) -> SourcesResponse:
    """The sources (NewsAPI ``/v2/top-headlines/sources`` and the older ``/v2/sources``)."""
    return await newsapi.sources(backends=gw.backends, query=newsapi_params.sources(params))


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def unknown(rest: str) -> None:
    """Any other ``/v2`` path: NewsAPI's envelope, not problem details."""
    raise NewsApiError(404, "routeNotFound", f"There is no /v2/{rest[:100]} endpoint.")
