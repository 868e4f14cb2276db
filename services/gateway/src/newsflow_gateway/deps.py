"""What handlers depend on: the gateway's clients, the caller (after rate limiting) and role checks."""

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

import httpx
from fastapi import Depends, Header, Path, Query, Request
from starlette.requests import HTTPConnection

from newsflow_contracts import CURSOR_MAX_CHARS, SEARCH_QUERY_MAX_CHARS
from newsflow_gateway.backends import Backends
from newsflow_gateway.compat.websub import Subscriptions
from newsflow_gateway.keys import KeyStore, Principal, Role
from newsflow_gateway.ratelimit import Rate, RateLimiter
from newsflow_gateway.settings import Settings
from newsflow_gateway.streams.filters import ArticleFilter
from newsflow_gateway.streams.hub import Hub
from newsflow_kit.errors import Forbidden, PayloadTooLarge, Unauthorized

IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", max_length=128)]
StoryId = Annotated[str, Path(pattern=r"^st-[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", max_length=131)]
Text = Annotated[str | None, Query(max_length=SEARCH_QUERY_MAX_CHARS)]
Token = Annotated[str | None, Query(max_length=100)]
Cursor = Annotated[str | None, Query(max_length=CURSOR_MAX_CHARS)]


async def article_filter(q: Text = None, source: Token = None, tag: Token = None, lang: Token = None) -> ArticleFilter:
    """The filters search and the live stream share (``q`` in the search box's syntax)."""
    return ArticleFilter(source=source, tag=tag, lang=lang, q=q)


Filters = Annotated[ArticleFilter, Depends(article_filter)]


@dataclass
class Gateway:
    """Everything the lifespan opens, on ``app.state.gateway``."""

    settings: Settings
    backends: Backends
    keys: KeyStore
    limiter: RateLimiter
    hub: Hub


@dataclass
class HubState:
    """What the WebSub hub endpoint needs, on ``app.state.websub``."""

    subscriptions: Subscriptions
    client: httpx.AsyncClient
    pending: set[asyncio.Task[bool]] = field(default_factory=set)


async def gateway(conn: HTTPConnection) -> Gateway:
    state: Gateway = conn.app.state.gateway
    return state


GatewayDep = Annotated[Gateway, Depends(gateway)]


def client_address(conn: HTTPConnection) -> str:
    """The reader's address (uvicorn resolves X-Forwarded-For from trusted proxies)."""
    return conn.client.host if conn.client else "unknown"


async def caller(conn: HTTPConnection, gw: GatewayDep) -> Principal | None:
    """The caller's key (None when anonymous), after its rate limit: per key, else per address.

    A request with a bad key spends its address's tokens, so guessing keys is rate limited too.
    """
    limits = gw.settings.limits
    anonymous = Rate(limits.anonymous_per_s, limits.anonymous_burst)
    header = conn.headers.get("authorization")
    if header is None:
        gw.limiter.hit(f"ip:{client_address(conn)}", anonymous)
        return None
    scheme, _, key = header.partition(" ")
    principal = await gw.keys.authenticate(key.strip()) if scheme.lower() == "bearer" and key.strip() else None
    if principal is None:
        gw.limiter.hit(f"ip:{client_address(conn)}", anonymous)
        raise Unauthorized("missing, unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    gw.limiter.hit(f"key:{principal.key_id}", Rate(limits.key_per_s, limits.key_burst))
    return principal


def reader(request: Request) -> dict[str, str]:
    """The headers that tell the comments service who reads (it keys rate limits and bans on them)."""
    return {"X-Client-IP": client_address(request), "User-Agent": request.headers.get("user-agent", "")[:500]}


CallerDep = Annotated[Principal | None, Depends(caller)]


async def _authenticated(principal: CallerDep) -> Principal:
    if principal is None:
        raise Unauthorized(
            "this action needs an API key: Authorization: Bearer <key>", headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


async def publisher(principal: Annotated[Principal, Depends(_authenticated)]) -> Principal:
    if principal.role is not Role.PUBLISHER or principal.source_id is None:
        raise Forbidden("publishing needs a publisher key bound to a source")
    return principal


async def admin(principal: Annotated[Principal, Depends(_authenticated)]) -> Principal:
    if principal.role is not Role.ADMIN:
        raise Forbidden("this action needs an admin key")
    return principal


PublisherDep = Annotated[Principal, Depends(publisher)]
AdminDep = Annotated[Principal, Depends(admin)]


async def small_body(
    request: Request, gw: GatewayDep, content_length: Annotated[int | None, Header(include_in_schema=False)] = None
) -> None:
    """A tighter cap than the app-wide one, for routes that take one article or one comment.

    A body without Content-Length (chunked) is measured once read: the app-wide cap has bounded its
    reading already, this one refuses it before anything is done with it.
    """
    cap = gw.settings.limits.small_body_bytes
    size = content_length if content_length is not None else len(await request.body())
    if size > cap:
        raise PayloadTooLarge(f"request body over {cap} bytes")


SmallBody = Depends(small_body)
