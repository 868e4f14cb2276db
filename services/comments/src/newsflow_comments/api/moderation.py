"""Moderation (the gateway lets only admins reach it): queue, decisions, bans, policy."""

from fastapi import APIRouter

from newsflow_comments import moderation
from newsflow_comments.api import CommentId, Cursor, Limit
from newsflow_comments.deps import ContextDep
from newsflow_comments.policy import Policy
from newsflow_comments.schemas import BanRead, HeldComment, QueuePage
from newsflow_comments.views import held_comment
from newsflow_contracts import BanCreate

router = APIRouter(prefix="/moderation", tags=["moderation"])


@router.get("/queue")
async def queue(ctx: ContextDep, cursor: Cursor = None, limit: Limit = 50) -> QueuePage:
    """Held comments, oldest first, with why they were held."""
    docs, next_cursor = await moderation.queue(ctx, cursor=cursor, limit=limit)
    return QueuePage(items=[held_comment(d) for d in docs], next_cursor=next_cursor)


@router.post("/comments/{comment_id}:approve")
async def approve(comment_id: CommentId, ctx: ContextDep) -> HeldComment:
    """Publishes a held comment."""
    return held_comment(await moderation.approve(ctx, comment_id))


@router.post("/comments/{comment_id}:reject")
async def reject(comment_id: CommentId, ctx: ContextDep) -> HeldComment:
    """Refuses a held comment."""
    return held_comment(await moderation.reject(ctx, comment_id))


@router.post("/comments/{comment_id}:remove")
async def remove(comment_id: CommentId, ctx: ContextDep) -> HeldComment:
    """Takes a comment down."""
    return held_comment(await moderation.remove(ctx, comment_id))


@router.post("/bans", status_code=201)
async def ban(body: BanCreate, ctx: ContextDep) -> BanRead:
    """Bans an author (by fingerprint, or by one of their comments) from posting and voting."""
    fingerprint, at = await moderation.ban(ctx, fingerprint=body.fingerprint, comment_id=body.comment_id)
    return BanRead(fingerprint=fingerprint, banned_at=at)


@router.get("/policy")
async def get_policy(ctx: ContextDep) -> Policy:
    """The moderation policy in force."""
    return await ctx.policies.get()


@router.put("/policy")
async def put_policy(policy: Policy, ctx: ContextDep) -> Policy:
    """Replaces the moderation policy (other replicas apply it within policy_cache_s)."""
    return await ctx.policies.put(policy)
