"""The engine's protocols follow the database in every process (issue 17, live pick-up).

``ProtocolFeed`` holds the ``ProtocolSet`` a process hands the engine. ``due()`` is cheap (a
clock read) and says when to look again: ``check_seconds`` after the last look, or at once
when the day has changed (a version approved from a later day comes into force at midnight,
UTC as every effective date here). ``refresh()`` then counts the approved versions in a
read-only transaction (``repositories.protocols.generation``) and reads the effective set
again only when that count or the day changed. It touches the database, so the caller runs
it in a worker thread, never on the event loop (``app/protocol_pickup.py``).

Bound: a process uses a new approval (in force today) from its first request that starts at
least ``check_seconds`` after its previous look, i.e. at most ``check_seconds`` plus one
look's time after the approval's commit; a version approved from a later day, from the first
request of that day.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from app.db.repositories import protocols as protocol_repo
from app.domain.titration import ProtocolSet
from app.services.context import utc_now
from app.services.protocols import load_at_start, load_effective
from app.services.reads import read_only

LOG = logging.getLogger("titrate.protocols")
DEFAULT_CHECK_SECONDS = 5.0


def _today() -> date:
    return utc_now().date()


class ProtocolFeed:
    def __init__(
        self,
        protocols: ProtocolSet,
        *,
        generation: int | None,
        check_seconds: float = DEFAULT_CHECK_SECONDS,
        today: Callable[[], date] = _today,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.current = protocols
        # None: a database without protocol tables (not migrated) — the packaged files, for
        # good (load_at_start warned).
        self._generation = generation
        self.check_seconds = check_seconds
        self._today, self._clock = today, clock
        self._day = today()
        self._checked_at = clock()
        self._lock = threading.Lock()

    @classmethod
    def at_start(
        cls, session: Session, *, check_seconds: float = DEFAULT_CHECK_SECONDS,
        today: Callable[[], date] = _today, clock: Callable[[], float] = time.monotonic,
    ) -> ProtocolFeed:  # fmt: skip
        """The set in force today, and the generation read *before* it: an approval that
        lands in between makes the first look read the set again."""
        with read_only(session):
            migrated = inspect(session.connection()).has_table("protocol_version")
            generation = protocol_repo.generation(session) if migrated else None
        protocols = load_at_start(session)
        return cls(
            protocols, generation=generation, check_seconds=check_seconds, today=today,
            clock=clock,
        )  # fmt: skip

    def due(self) -> bool:
        if self._generation is None:
            return False
        return self._today() != self._day or self._clock() - self._checked_at >= self.check_seconds

    def refresh(self, session: Session, *, now: bool = False) -> ProtocolSet:
        """Look at the database (if due) and return the set now in force. Called from a
        worker thread; two threads never look at once (the second returns the current set).

        ``now``: look whether or not a look is due, after a look under way: an approval made
        by this process is in use from its very next request."""
        if not self._lock.acquire(blocking=now):
            return self.current
        try:
            if not now and not self.due():
                return self.current
            day = self._today()
            with read_only(session):
                generation = protocol_repo.generation(session)
            if generation != self._generation or day != self._day:
                self.current = load_effective(session, on=day)
                self._generation, self._day = generation, day
                LOG.info("protocols reloaded: generation %s, day %s", generation, day)
            self._checked_at = self._clock()
            return self.current
        finally:
            self._lock.release()
