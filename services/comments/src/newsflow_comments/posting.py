"""What readers do: post, edit and delete with the edit token, vote.

A post costs at most 4 store commands (docs/comments.md, "Round trips"): the parent (replies only),
one ordered insert of its claim and rate-limit hit, one read of the client's marks (ban, known
author, recent hits), and the insert of the comment with its comment.posted event.
"""

import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from newsflow_comments import changes, ratelimit
from newsflow_comments.context import Context
from newsflow_comments.identity import Client, token_hash, token_matches
from newsflow_comments.outbox import entry
from newsflow_comments.policy import hold_reasons
from newsflow_comments.records import Change, Mark, StoredComment
from newsflow_comments.schemas import CommentCreate
from newsflow_comments.store import StoreBusy, deadline
from newsflow_contracts import CommentStatus, EventType
from newsflow_kit.errors import Conflict, DependencyUnavailable, Forbidden, InvalidInput, NotFound, RateLimited

MAX_DEPTH = 3


@dataclass(frozen=True)
class Posted:
    comment: StoredComment
    edit_token: str
    created: bool  # False: a retry (same Idempotency-Key) or an identical recent post, answered with the first


@dataclass(frozen=True)
class Claim:
    """What makes two posts one comment: the same key (or the same text in one duplicate window)."""

    id: str
    comment_id: str
    expires_at: datetime


async def post(
    ctx: Context, *, article_id: str, new: CommentCreate, client: Client, idempotency_key: str | None = None
) -> Posted:
    """Accepts a comment (visible, or pending for a moderator); the worker publishes comment.posted.

    Everything before the comment's insert runs under ``post_deadline_s``: past it the answer is 503
    and nothing was stored. The insert itself is one command; should the store fail during it, the
    answer is 503 too and a retry with the same key (or the same text) returns the comment if it landed.
    """
    async with _deadline(ctx.config.post_deadline_s):
        comment, claim, created = await _prepare(ctx, article_id, new, client, idempotency_key)
    if not created:
        return Posted(comment, ctx.identity.edit_token(claim.comment_id), created=False)
    try:
        inserted = await ctx.store.insert(comment, entry(EventType.COMMENT_POSTED, comment))
    finally:
        ctx.threads.forget(article_id)  # also when the store failed: the write may have landed
    if not inserted:  # a concurrent twin won
        return Posted(await changes.load(ctx, claim.comment_id), ctx.identity.edit_token(claim.comment_id), False)
    return Posted(comment, ctx.identity.edit_token(claim.comment_id), created=True)


async def _prepare(
    ctx: Context, article_id: str, new: CommentCreate, client: Client, idempotency_key: str | None
) -> tuple[StoredComment, Claim, bool]:
    """The comment to insert, or (when ``created`` is False) the one an earlier attempt stored."""
    policy = await ctx.policies.get()
    await ctx.articles.require_open(article_id)
    parent = await _parent(ctx, article_id, new.parent_id)  # before the claim: bad input costs no budget
    now = ctx.now()
    claim = _claim(ctx, article_id, client, new, idempotency_key, now)
    reasons = hold_reasons(new.body, new.author_name, policy)
    hit_expires = ratelimit.hour_start(now) + timedelta(hours=1)
    marks = [
        Mark(claim.id, "post", now, comment_id=claim.comment_id, expires_at=claim.expires_at),
        Mark(
            f"hit:{secrets.token_hex(12)}",
            "hit",
            now,
            fp=client.fingerprint,
            addr=client.address,
            expires_at=hit_expires,
        ),
    ]
    claimed = await ctx.store.claim_post(marks)
    if not claimed and (earlier := await ctx.store.comment(claim.comment_id)) is not None:
        return earlier, claim, False
    # Not claimed and not stored: the first attempt is still writing (or failed); the same comment id
    # means the two inserts collide and both answer with the one that landed.
    try:
        limits = _limits(ctx, client)
        read = ratelimit.hits_to_read(limits)
        held = await ctx.store.client_marks(client.fingerprint, client.address, ratelimit.hour_start(now), read)
        ids = {m.id for m in held}
        if Mark.ban(client.fingerprint, now).id in ids:
            raise Forbidden("this author may not comment")
        if wait := ratelimit.retry_after(held, limits, now, read=read):
            raise RateLimited("too many comments; try again later", retry_after=wait)
    except (Forbidden, RateLimited):
        if claimed:  # a refused post must not make its retry look like a duplicate
            await ctx.store.release_post(claim.id, claim.comment_id)
        raise
    known = Mark.known(client.fingerprint, now).id in ids
    if policy.premoderate_new_authors and not known:
        reasons.append("new-author")
    elif not known and not reasons:
        # Passes the content policy while pre-moderation is off: known from now on (see docs). Its own
        # command, for a new author only: in the claim's ordered insert, a returning author's mark
        # was a duplicate, and FerretDB answers a failed batch by inserting its documents one by one,
        # each in a transaction of its own (docs/benchmarks.md, thirteenth session).
        await ctx.store.mark_known(client.fingerprint, now)
    status = CommentStatus.PENDING if reasons else CommentStatus.VISIBLE
    token = ctx.identity.edit_token(claim.comment_id)
    return _new_comment(claim.comment_id, article_id, new, parent, status, reasons, token, client, now), claim, True


@asynccontextmanager
async def _deadline(seconds: float) -> AsyncIterator[None]:
    """Store commands inside share one deadline; running out is 503 "not stored", never a queue."""
    try:
        async with deadline(seconds):
            yield
    except StoreBusy as exc:
        raise DependencyUnavailable(
            "the comment store is busy: the comment was not stored; try again shortly",
            headers={"Retry-After": "2"},
        ) from exc


def _claim(ctx: Context, article_id: str, client: Client, new: CommentCreate, key: str | None, now: datetime) -> Claim:
    """With an Idempotency-Key: that key (per reader and article) for ``idempotency_window_s``.
    Without: the text itself within the current ``duplicate_window_s`` window."""
    if key is not None:
        raw = "\x1f".join(("key", article_id, client.fingerprint, key))
        expires = now + timedelta(seconds=ctx.config.idempotency_window_s)
    else:
        window = ctx.config.duplicate_window_s
        bucket = int(now.timestamp() // window)
        raw = "\x1f".join(
            ("text", article_id, client.fingerprint, new.parent_id or "", new.author_name, new.body, str(bucket))
        )
        expires = now + timedelta(seconds=window)
    digest = hashlib.sha256(raw.encode()).hexdigest()
    return Claim(f"post:{digest}", hashlib.sha256(f"comment:{digest}".encode()).hexdigest()[:20], expires)


async def edit(ctx: Context, *, comment_id: str, token: str | None, body: str) -> StoredComment:
    """Replaces the text within the edit window; the new text must pass the content policy."""
    comment = _owned(await changes.load(ctx, comment_id), token)
    await ctx.articles.require_open(comment.article_id)
    policy = await ctx.policies.get()
    if reasons := hold_reasons(body, comment.author_name, policy):
        raise InvalidInput(
            "the new text needs a moderator; edit it or post it as a new comment",
            errors=[{"field": "body", "message": f"held by policy: {', '.join(reasons)}", "type": "policy"}],
        )

    def decide(current: StoredComment) -> changes.Decision:
        _owned(current, token)
        if current.status in (CommentStatus.REMOVED, CommentStatus.REJECTED):
            raise Conflict(f"comment {comment_id} is {current.status}")
        if ctx.now() - current.created_at > timedelta(seconds=ctx.config.edit_window_s):
            raise Forbidden("the edit window of this comment has closed")
        if current.body == body:
            return None
        return Change(body=body, edited_at=ctx.now()), EventType.COMMENT_EDITED

    return await changes.update(ctx, comment_id, decide)


async def delete(ctx: Context, *, comment_id: str, token: str | None) -> StoredComment:
    """Removes the comment (any time); its text goes, a placeholder stays while it has replies."""

    def decide(current: StoredComment) -> changes.Decision:
        _owned(current, token)
        return removal(current)

    return await changes.update(ctx, comment_id, decide)


def removal(comment: StoredComment) -> changes.Decision:
    if comment.status == CommentStatus.REMOVED:
        return None
    return Change(status=CommentStatus.REMOVED, body="", author_name=""), EventType.COMMENT_REMOVED


async def vote(ctx: Context, *, comment_id: str, value: int, client: Client) -> tuple[int, int]:
    """Records one vote per voter (a new vote replaces theirs); returns (value, score).

    The score is summed from the votes right now (exact at that moment); the comment's stored score,
    which ``top`` orders by, follows within a worker pass.
    """
    comment = await changes.load(ctx, comment_id)
    if comment.status == CommentStatus.REMOVED:
        raise Conflict(f"comment {comment_id} was removed")
    if comment.status != CommentStatus.VISIBLE:
        raise NotFound(f"no visible comment {comment_id}")  # held or rejected: not public
    await ctx.articles.require_open(comment.article_id)
    if await ctx.store.banned(client.fingerprint):
        raise Forbidden("this reader may not vote")
    await ctx.store.set_vote(comment_id, client.fingerprint, value, ctx.now())
    return value, await ctx.store.vote_sum(comment_id)


def _new_comment(
    comment_id: str,
    article_id: str,
    new: CommentCreate,
    parent: StoredComment | None,
    status: CommentStatus,
    reasons: list[str],
    token: str,
    client: Client,
    now: datetime,
) -> StoredComment:
    """A new comment; secrets only as keyed hashes."""
    return StoredComment(
        id=comment_id,
        article_id=article_id,
        parent_id=new.parent_id,
        root_id=parent.root_id if parent else comment_id,
        depth=parent.depth + 1 if parent else 0,
        author_name=new.author_name,
        body=new.body,
        status=status,
        version=1,
        score=0,
        created_at=now,
        updated_at=now,
        hold_reasons=tuple(reasons),
        token_hash=token_hash(token),
        fingerprint=client.fingerprint,
        address=client.address,
    )


def _owned(comment: StoredComment, token: str | None) -> StoredComment:
    if not token_matches(token, comment.token_hash):
        raise Forbidden("wrong edit token")
    return comment


async def _parent(ctx: Context, article_id: str, parent_id: str | None) -> StoredComment | None:
    if parent_id is None:
        return None
    parent = await ctx.store.comment(parent_id)
    if parent is None or parent.article_id != article_id:
        raise InvalidInput(
            "no such comment under this article",
            errors=[{"field": "parent_id", "message": "unknown comment", "type": "unknown"}],
        )
    if parent.depth >= MAX_DEPTH:
        raise InvalidInput(
            f"replies nest at most {MAX_DEPTH} deep",
            errors=[{"field": "parent_id", "message": "too deep", "type": "depth"}],
        )
    if parent.status != CommentStatus.VISIBLE:
        raise Conflict(f"comment {parent_id} takes no replies ({parent.status})")
    return parent


def _limits(ctx: Context, client: Client) -> list[tuple[ratelimit.Limit, str]]:
    c = ctx.config
    return [
        (ratelimit.Limit("fp", c.author_per_minute, c.author_per_hour), client.fingerprint),
        (ratelimit.Limit("addr", c.address_per_minute, c.address_per_hour), client.address),
    ]
