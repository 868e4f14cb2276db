"""Who is who without storing who: keyed hashes of the client, and edit tokens kept only as hashes.

    fingerprint = HMAC(secret, "author" | address | user agent)   one reader on one device
    address     = HMAC(secret, "address" | address)               a network (NAT, office) - looser limits
    edit token  = HMAC(secret, "edit" | comment id)               given to the author; we keep sha256(token)

The token is derived rather than random so that an identical retry (the same post within the duplicate
window) can be answered with the same token; the database alone never reveals it.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class Client:
    """The reader behind a request, as keyed hashes."""

    fingerprint: str
    address: str


class Identity:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def _mac(self, *parts: str) -> bytes:
        return hmac.new(self._key, "\x1f".join(parts).encode(), hashlib.sha256).digest()

    def client(self, address: str, user_agent: str) -> Client:
        return Client(
            fingerprint=self._mac("author", address, user_agent).hex()[:32],
            address=self._mac("address", address).hex()[:32],
        )

    def edit_token(self, comment_id: str) -> str:
        return base64.urlsafe_b64encode(self._mac("edit", comment_id)).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str | None, stored_hash: str) -> bool:
    """Constant-time comparison of a presented token with the stored hash."""
    return token is not None and hmac.compare_digest(token_hash(token), stored_hash)
