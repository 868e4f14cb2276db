"""What readers do: post, edit and delete with the edit token, vote."""

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from newsflow_comments import articles, changes, ratelimit, visibility
from newsflow_comments.context import Context
from newsflow_comments.identity import Client, token_hash, token_matches
from newsflow_comments.outbox import entry
from newsflow_comments.policy import hold_reasons
from newsflow_comments.repository import Doc
from newsflow_comments.schemas import CommentCreate
from newsflow_contracts import CommentStatus, EventType
from newsflow_kit.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited

MAX_DEPTH = 3


@dataclass(frozen=True)
class Posted:
    comment: Doc
    edit_token: str
    created: bool  # False: an identical post within the duplicate window, answered with the first one


async def post(ctx: Context, *, article_id: str, new: CommentCreate, client: Client) -> Posted:
    """Accepts a comment (visible, or pending for a moderator) and queues comment.posted."""
    _, author, known_author, parent = await asyncio.gather(
        articles.require_open(ctx.store, article_id),
        ctx.store.author(client.fingerprint),
        ctx.store.has_visible_comment(client.fingerprint),
        _parent(ctx, article_id, new.parent_id),
    )
    if (author or {}).get("banned_at"):
        raise Forbidden("this author may not comment")
    now = ctx.now()
    window = timedelta(seconds=ctx.config.duplicate_window_s)
    key = _post_key(article_id, client.fingerprint, new)
    # Claim first: an identical recent post answers with its comment and costs no rate-limit budget.
    comment_id = secrets.token_hex(10)
    if (earlier := await ctx.store.claim_post_key(key, comment_id, now, now - window)) is not None:
        if (same := await ctx.store.comment(earlier)) is not None:
            return Posted(same, ctx.identity.edit_token(earlier), created=False)
        comment_id = earlier  # claimed by a request still writing (or one that crashed): one id for both
    try:
        await ratelimit.hit(ctx.store, limits=_limits(ctx, client), now=now)
    except RateLimited:
        if earlier is None:  # our claim: a refused post must not make its retry look like a duplicate
            await ctx.store.release_post_key(key, comment_id)
        raise
    policy = await ctx.policies.get()
    reasons = hold_reasons(new.body, new.author_name, policy)
    if policy.premoderate_new_authors and not known_author:
        reasons.append("new-author")
    status = CommentStatus.PENDING if reasons else CommentStatus.VISIBLE
    token = ctx.identity.edit_token(comment_id)
    doc = _new_comment(comment_id, article_id, new, parent, status, reasons, token, client, now)
    doc["outbox"] = {"v1": entry(EventType.COMMENT_POSTED, doc)}
    if not await ctx.store.insert(doc):
        return Posted(await changes.load(ctx, comment_id), token, created=False)
    ctx.outbox.dispatch(doc)
    if status is CommentStatus.VISIBLE:
        await visibility.child_changed(ctx.store, new.parent_id, 1)
    return Posted(doc, token, created=True)


async def edit(ctx: Context, *, comment_id: str, token: str | None, body: str) -> Doc:
    """Replaces the text within the edit window; the new text must pass the content policy."""
    doc = _owned(await changes.load(ctx, comment_id), token)
    await articles.require_open(ctx.store, doc["article_id"])
    policy = await ctx.policies.get()
    if reasons := hold_reasons(body, doc["author_name"], policy):
        raise InvalidInput(
            "the new text needs a moderator; edit it or post it as a new comment",
            errors=[{"field": "body", "message": f"held by policy: {', '.join(reasons)}", "type": "policy"}],
        )

    def decide(current: Doc) -> changes.Decision:
        _owned(current, token)
        if current["status"] in (CommentStatus.REMOVED, CommentStatus.REJECTED):
            raise Conflict(f"comment {comment_id} is {current['status']}")
        if ctx.now() - current["created_at"] > timedelta(seconds=ctx.config.edit_window_s):
            raise Forbidden("the edit window of this comment has closed")
        if current["body"] == body:
            return None
        return {"body": body, "edited_at": ctx.now()}, EventType.COMMENT_EDITED

    return await changes.update(ctx, comment_id, decide)


async def delete(ctx: Context, *, comment_id: str, token: str | None) -> Doc:
    """Removes the comment (any time); its text goes, a placeholder stays while it has replies."""

    def decide(current: Doc) -> changes.Decision:
        _owned(current, token)
        return removal(current)

    return await changes.update(ctx, comment_id, decide)


def removal(doc: Doc) -> changes.Decision:
    if doc["status"] == CommentStatus.REMOVED:
        return None
    return {"status": CommentStatus.REMOVED.value, "body": "", "author_name": ""}, EventType.COMMENT_REMOVED


async def vote(ctx: Context, *, comment_id: str, value: int, client: Client) -> tuple[int, int]:
    """Records one vote per voter (a new vote replaces theirs); returns (value, score)."""
    doc = await changes.load(ctx, comment_id)
    if doc["status"] == CommentStatus.REMOVED:
        raise Conflict(f"comment {comment_id} was removed")
    if doc["status"] != CommentStatus.VISIBLE:
        raise NotFound(f"no visible comment {comment_id}")  # held or rejected: not public
    await articles.require_open(ctx.store, doc["article_id"])
    voter = await ctx.store.author(client.fingerprint) or {}
    if voter.get("banned_at"):
        raise Forbidden("this reader may not vote")
    previous = await ctx.store.set_vote(comment_id, client.fingerprint, value)
    if previous == value:
        return value, int(doc.get("score", 0))
    after = await ctx.store.add_score(comment_id, value - previous)
    return value, int((after or doc).get("score", 0))


def _new_comment(
    comment_id: str,
    article_id: str,
    new: CommentCreate,
    parent: Doc | None,
    status: CommentStatus,
    reasons: list[str],
    token: str,
    client: Client,
    now: datetime,
) -> Doc:
    """The stored document of a new comment; secrets only as keyed hashes."""
    doc: Doc = {
        "_id": comment_id,
        "article_id": article_id,
        "parent_id": new.parent_id,
        "root_id": parent["root_id"] if parent else comment_id,
        "depth": parent["depth"] + 1 if parent else 0,
        "author_name": new.author_name,
        "body": new.body,
        "status": status.value,
        "version": 1,
        "score": 0,
        "created_at": now,
        "updated_at": now,
        "shown": status is CommentStatus.VISIBLE,
        "shown_children": 0,
        "hold_reasons": reasons,
        "token_hash": token_hash(token),
        "fingerprint": client.fingerprint,
        "address": client.address,
        "bus": "pending",
        "bus_at": now,
    }
    return doc


def _owned(doc: Doc, token: str | None) -> Doc:
    if not token_matches(token, doc["token_hash"]):
        raise Forbidden("wrong edit token")
    return doc


async def _parent(ctx: Context, article_id: str, parent_id: str | None) -> Doc | None:
    if parent_id is None:
        return None
    parent = await ctx.store.comment(parent_id)
    if parent is None or parent["article_id"] != article_id:
        raise InvalidInput(
            "no such comment under this article",
            errors=[{"field": "parent_id", "message": "unknown comment", "type": "unknown"}],
        )
    if parent["depth"] >= MAX_DEPTH:
        raise InvalidInput(
            f"replies nest at most {MAX_DEPTH} deep",
            errors=[{"field": "parent_id", "message": "too deep", "type": "depth"}],
        )
    if parent["status"] != CommentStatus.VISIBLE:
        raise Conflict(f"comment {parent_id} takes no replies ({parent['status']})")
    return parent


def _post_key(article_id: str, fingerprint: str, new: CommentCreate) -> str:
    raw = "\x1f".join((article_id, fingerprint, new.parent_id or "", new.author_name, new.body))
    return hashlib.sha256(raw.encode()).hexdigest()


def _limits(ctx: Context, client: Client) -> list[tuple[ratelimit.Limit, str]]:
    c = ctx.config
    return [
        (ratelimit.Limit("author", c.author_per_minute, c.author_per_hour), client.fingerprint),
        (ratelimit.Limit("address", c.address_per_minute, c.address_per_hour), client.address),
    ]
