"""What a credential (an API token, a login cookie) was verified as, remembered for a few
seconds on this instance, so that a busy client's every request does not open a database
transaction to check it again. The mechanism of services/token_cache.py and
services/session_cache.py, which each state their own rule (ARCHITECTURE.md, "Token
verification and revocation").

Entries are keyed by the credential's SHA-256, never by the credential itself. An entry is
used while it is younger than the lifetime (monotonic clock) and the wall clock is before its
``usable_until``; at ``max_entries`` the store starts again rather than grow. Every forget
counts a generation: a caller that read the database before a forget may pass the generation
it saw, and what it read is then not remembered (it may predate the change).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from app.services.context import utc_now

LIFETIME_SECONDS = 5.0
MAX_ENTRIES = 10_000

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    value: V
    fresh_until: float  # on the monotonic clock
    usable_until: datetime | None  # wall clock, UTC; None: no limit of its own


class VerifiedCache(Generic[V]):
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
        self._entries: dict[str, _Entry[V]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # counts forgets

    def generation(self) -> int:
        return self._generation

    def _lookup(self, secret: str) -> V | None:
        key = _key(secret)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() >= entry.fresh_until or (
            entry.usable_until is not None and utc_now() >= entry.usable_until
        ):
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
            return None
        return entry.value

    def _remember(
        self, secret: str, value: V, usable_until: datetime | None, read_since: int | None
    ) -> None:
        entry = _Entry(value, self._clock() + self._lifetime, usable_until)
        with self._lock:
            if read_since is not None and self._generation != read_since:
                return  # a forget ran while this was read: it may predate the change
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # many distinct credentials: start again, never grow
            self._entries[_key(secret)] = entry

    def _forget_secret(self, secret: str) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(_key(secret), None)

    def _forget_where(self, matches: Callable[[V], bool]) -> None:
        with self._lock:
            self._generation += 1
            for key in [k for k, e in self._entries.items() if matches(e.value)]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
