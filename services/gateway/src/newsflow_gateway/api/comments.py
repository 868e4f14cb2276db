"""Comments: threads, posting, editing and deleting with the edit token, votes, counts.

The reader's address and user agent travel to the comments service as ``X-Client-IP`` and
``User-Agent``; it keeps only a keyed hash of them (the author/voter fingerprint).
"""

from typing import Annotated, Any, Literal

from fastapi import Header, Query, Request, Response

from newsflow_contracts import CountsPage, CountsRequest
from newsflow_gateway.api import v1_router
from newsflow_gateway.backends import Service, segment
from newsflow_gateway.deps import Cursor, GatewayDep, IdPath, SmallBody, reader
from newsflow_gateway.schemas import (
    CommentCount,
    CommentCreate,
    CommentCreated,
    CommentRead,
    CommentsPage,
    CommentUpdate,
    JSONObject,
    VoteCreate,
)

router = v1_router(tags=["comments"])
EditToken = Annotated[str, Header(alias="X-Edit-Token", min_length=1, max_length=200)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[\x21-\x7e]{1,200}$",
        description="A retry with it returns the same comment.",
    ),
]


@router.get("/articles/{article_id}/comments", response_model=CommentsPage)
async def thread(
    article_id: IdPath,
    gw: GatewayDep,
    sort: Literal["oldest", "newest", "top"] = "oldest",
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Any:
    """An article's visible comments with their replies."""
    path = f"/articles/{segment(article_id)}/comments"
    return await gw.backends.relay(Service.COMMENTS, path, params={"sort": sort, "cursor": cursor, "limit": limit})


@router.post(
    "/articles/{article_id}/comments",
    status_code=201,
    response_model=CommentCreated,
    responses={200: {"model": CommentCreated, "description": "A retry: the comment the first attempt stored."}},
    dependencies=[SmallBody],
)
async def post_comment(
    article_id: IdPath,
    body: CommentCreate,
    gw: GatewayDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Posts a comment (or a reply with ``parent_id``); keep the returned edit token.

    Send an ``Idempotency-Key`` (a fresh UUID per comment): a retry with it, after a 503 or a lost
    answer, returns the comment if it was stored (200) instead of posting it twice.
    """
    path = f"/articles/{segment(article_id)}/comments"
    payload = body.model_dump(mode="json", exclude_none=True)
    headers = reader(request)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return await gw.backends.relay(Service.COMMENTS, path, method="POST", json=payload, headers=headers)


@router.patch("/comments/{comment_id}", response_model=CommentRead, dependencies=[SmallBody])
async def edit_comment(comment_id: IdPath, body: CommentUpdate, token: EditToken, gw: GatewayDep) -> Any:
    """Edits a comment's text; needs its edit token."""
    path = f"/comments/{segment(comment_id)}"
    return await gw.backends.call(
        Service.COMMENTS, "PATCH", path, json=body.model_dump(mode="json"), headers={"X-Edit-Token": token}
    )


@router.delete("/comments/{comment_id}", status_code=204, response_class=Response)
async def delete_comment(comment_id: IdPath, token: EditToken, gw: GatewayDep) -> Response:
    """Deletes a comment; needs its edit token."""
    path = f"/comments/{segment(comment_id)}"
    await gw.backends.call(Service.COMMENTS, "DELETE", path, headers={"X-Edit-Token": token})
    return Response(status_code=204)


@router.post("/comments/{comment_id}/votes", response_model=JSONObject)
async def vote(comment_id: IdPath, body: VoteCreate, gw: GatewayDep, request: Request) -> Any:
    """Up- or down-votes a comment (one vote per reader; voting again changes it)."""
    path = f"/comments/{segment(comment_id)}/votes"
    return await gw.backends.call(
        Service.COMMENTS, "POST", path, json=body.model_dump(mode="json"), headers=reader(request)
    )


@router.get("/articles/{article_id}/comments/count", response_model=CommentCount)
async def count(article_id: IdPath, gw: GatewayDep) -> Any:
    """How many visible comments an article has."""
    return await gw.backends.relay(Service.COMMENTS, f"/articles/{segment(article_id)}/comments/count")


@router.post("/comments/counts", response_model=CountsPage)
async def counts(body: CountsRequest, gw: GatewayDep) -> Any:
    """Comment counts of many articles at once (for lists)."""
    return await gw.backends.call(Service.COMMENTS, "POST", "/comments/counts", json=body.model_dump(mode="json"))
