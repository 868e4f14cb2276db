"""The stored moderation policy, read through a short per-replica cache (``policy_cache_s``)."""

import time

from newsflow_comments.policy import Policy
from newsflow_comments.store import Store


class Policies:
    def __init__(self, store: Store, *, cache_s: float) -> None:
        self.store = store
        self.cache_s = cache_s
        self._cached: tuple[float, Policy] | None = None

    async def get(self) -> Policy:
        if self._cached is not None and time.monotonic() - self._cached[0] < self.cache_s:
            return self._cached[1]
        policy = await self.store.policy() or Policy()
        self._cached = (time.monotonic(), policy)
        return policy

    async def put(self, policy: Policy) -> Policy:
        await self.store.save_policy(policy)
        self._cached = (time.monotonic(), policy)
        return policy
