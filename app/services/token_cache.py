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

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.services.context import Actor, utc_now

LIFETIME_SECONDS = 5.0
MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    client: Actor
    fresh_until: float  # on the monotonic clock
    expires_at: datetime | None  # the token's own expiry (wall clock, UTC)


class VerifiedTokens:
    def __init__(
        self,
        *,
        lifetime_seconds: float = LIFETIME_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._lifetime = lifetime_seconds
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def lookup(self, token: str) -> Actor | None:
        key = _key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() >= entry.fresh_until or (
            entry.expires_at is not None and utc_now() >= entry.expires_at
        ):
            self._entries.pop(key, None)
            return None
        return entry.client

    def remember(self, token: str, client: Actor, expires_at: datetime | None) -> None:
        entry = _Entry(client, self._clock() + self._lifetime, expires_at)
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # many distinct tokens: start again rather than grow
            self._entries[_key(token)] = entry

    def forget(self, token_id: int) -> None:
        with self._lock:
            for key in [k for k, e in self._entries.items() if e.client.id == token_id]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# One per process: uvicorn's workers are processes, so each holds its own.
VERIFIED_TOKENS = VerifiedTokens()
lookup = VERIFIED_TOKENS.lookup
remember = VERIFIED_TOKENS.remember
forget = VERIFIED_TOKENS.forget
