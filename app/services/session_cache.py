"""Verified web login sessions, remembered for a few seconds so that the live preview's every
keystroke does not open a database transaction (and hop to a worker thread) to check its
cookie again. The mechanism is services/verified_cache.py's, shared with token_cache.py.

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

from datetime import datetime
from typing import TYPE_CHECKING

from app.services.verified_cache import LIFETIME_SECONDS, MAX_ENTRIES, VerifiedCache

if TYPE_CHECKING:
    from app.services.auth import LoginSession

__all__ = [
    "LIFETIME_SECONDS", "MAX_ENTRIES", "VERIFIED_SESSIONS", "VerifiedSessions",
    "forget_session", "forget_user", "generation", "lookup", "remember",
]  # fmt: skip


class VerifiedSessions(VerifiedCache["LoginSession"]):
    def lookup(self, session_id: str) -> LoginSession | None:
        return self._lookup(session_id)

    def remember(
        self, session_id: str, login: LoginSession, usable_until: datetime, *, read_since: int
    ) -> None:
        self._remember(session_id, login, usable_until, read_since=read_since)

    def forget_session(self, session_id: str) -> None:
        self._forget_secret(session_id)

    def forget_user(self, user_id: int) -> None:
        self._forget_where(lambda login: login.user_id == user_id)


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
