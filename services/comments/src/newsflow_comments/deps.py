"""Request-scoped dependencies: the comments context and the reader behind the request."""

from typing import Annotated

from fastapi import Depends, Header, Request

from newsflow_comments.context import Context
from newsflow_comments.identity import Client


async def get_context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


async def get_client(
    request: Request,
    context: Annotated[Context, Depends(get_context)],
    x_client_ip: Annotated[str | None, Header(max_length=100)] = None,
    user_agent: Annotated[str, Header(max_length=1000)] = "",
) -> Client:
    """The reader as keyed hashes: the gateway's ``X-Client-IP`` (else the peer) and the user agent."""
    address = x_client_ip or (request.client.host if request.client else "unknown")
    return context.identity.client(address.strip(), user_agent)


ContextDep = Annotated[Context, Depends(get_context)]
ClientDep = Annotated[Client, Depends(get_client)]
EditToken = Annotated[str | None, Header(alias="X-Edit-Token", max_length=200)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[\x21-\x7e]{1,200}$",
        description="Any unique string per intended comment (a UUID); a retry with it returns the same comment.",
    ),
]
