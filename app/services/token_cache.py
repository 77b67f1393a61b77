"""Verified API tokens, remembered for a few seconds so that a busy client's every request does
not open a database transaction to look its token up again.

The one interface to the cache (ARCHITECTURE.md, "Token verification and revocation"):

- `lookup(token)`: the client a token was verified as, if it was verified less than
  `LIFETIME_SECONDS` ago on this instance (process) and has not expired since; else None.
- `remember(token, client, expires_at)`: called by services.auth after a database lookup.
- `forget(token_id)`: called in the same process right after a change to a token commits
  (revocation; any later change of scopes or expiry must call it too), so the instance that
  revoked a token refuses it on its very next request. Every other instance refuses it at
  most `LIFETIME_SECONDS` later, when its entry runs out. Entries are keyed by the token's
  SHA-256, never by the token itself.
"""

from __future__ import annotations

from datetime import datetime

from app.services.context import Actor
from app.services.verified_cache import LIFETIME_SECONDS, MAX_ENTRIES, VerifiedCache

__all__ = [
    "LIFETIME_SECONDS", "MAX_ENTRIES", "VERIFIED_TOKENS", "VerifiedTokens",
    "forget", "lookup", "remember",
]  # fmt: skip


class VerifiedTokens(VerifiedCache[Actor]):
    def lookup(self, token: str) -> Actor | None:
        return self._lookup(token)

    def remember(self, token: str, client: Actor, expires_at: datetime | None) -> None:
        self._remember(token, client, expires_at, read_since=None)

    def forget(self, token_id: int) -> None:
        self._forget_where(lambda client: client.id == token_id)


# One per process: uvicorn's workers are processes, so each holds its own.
VERIFIED_TOKENS = VerifiedTokens()
lookup = VERIFIED_TOKENS.lookup
remember = VERIFIED_TOKENS.remember
forget = VERIFIED_TOKENS.forget
