"""Verified web login sessions, remembered for a few seconds so that the live preview's every
keystroke does not open a database transaction (and hop to a worker thread) to check its
cookie again. Modelled on services/token_cache.py.

The one interface to the cache (ARCHITECTURE.md, "Token verification and revocation"):

- `lookup(session_id)`: the LoginSession a cookie was verified as, if it was verified less
  than `LIFETIME_SECONDS` ago on this instance (process) and the wall clock is still before
  the entry's `usable_until`; else None (the caller then checks the database).
- `remember(session_id, login, usable_until, read_since=generation())`: called by
  services.auth after a database check, with the `generation()` taken before that check: if
  anything was forgotten meanwhile, the check may have read the row before the change
  committed, and nothing is remembered (a request racing a logout cannot put the ended
  session back). `usable_until` is the earliest of the session's absolute end, the moment it would
  become idle, and the moment its idle clock is next due to be moved (auth: every 30 s), so a
  hit never extends a session and never skips an idle-clock write: when that write is due
  the lookup misses and the database check makes it.
- `forget_session(session_id)`, `forget_user(user_id)`: called in the same process right
  after a commit that ends a session or changes what a LoginSession holds (logout, password
  change or reset, disabling, role or name change), so the instance that made the change
  refuses or re-reads on the very next request. Every other instance does so at most
  `LIFETIME_SECONDS` later, when its entry runs out. Entries are keyed by the cookie's
  SHA-256 (the same value the database stores), never by the cookie itself.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.services.context import utc_now

if TYPE_CHECKING:
    from app.services.auth import LoginSession

LIFETIME_SECONDS = 5.0
MAX_ENTRIES = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    login: LoginSession
    fresh_until: float  # on the monotonic clock
    usable_until: datetime  # wall clock, UTC: see the module docstring


class VerifiedSessions:
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
        self._generation = 0  # counts forget calls

    def generation(self) -> int:
        return self._generation

    def lookup(self, session_id: str) -> LoginSession | None:
        key = _key(session_id)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self._clock() >= entry.fresh_until or utc_now() >= entry.usable_until:
            with self._lock:
                if self._entries.get(key) is entry:
                    del self._entries[key]
            return None
        return entry.login

    def remember(
        self, session_id: str, login: LoginSession, usable_until: datetime, *, read_since: int
    ) -> None:
        entry = _Entry(login, self._clock() + self._lifetime, usable_until)
        with self._lock:
            if self._generation != read_since:
                return  # a forget ran while this was read: it may predate the change
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # many distinct sessions: start again rather than grow
            self._entries[_key(session_id)] = entry

    def forget_session(self, session_id: str) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(_key(session_id), None)

    def forget_user(self, user_id: int) -> None:
        with self._lock:
            self._generation += 1
            for key in [k for k, e in self._entries.items() if e.login.user_id == user_id]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


# One per process: uvicorn's workers are processes, so each holds its own. The functions below
# look the instance up at call time, so a test can put one with a short lifetime in its place.
VERIFIED_SESSIONS = VerifiedSessions()


def lookup(session_id: str) -> LoginSession | None:
    return VERIFIED_SESSIONS.lookup(session_id)


def generation() -> int:
    return VERIFIED_SESSIONS.generation()


def remember(
    session_id: str, login: LoginSession, usable_until: datetime, *, read_since: int
) -> None:
    VERIFIED_SESSIONS.remember(session_id, login, usable_until, read_since=read_since)


def forget_session(session_id: str) -> None:
    VERIFIED_SESSIONS.forget_session(session_id)


def forget_user(user_id: int) -> None:
    VERIFIED_SESSIONS.forget_user(user_id)
