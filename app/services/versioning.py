"""Optimistic locking at write time: losing a race is a stale version, never a server error.

Services compare the caller's version with the stored one before they write, but two
requests can pass that check together. On PostgreSQL the slower one's
``UPDATE … WHERE version = n`` then matches no row and SQLAlchemy (``version_id_col``) raises
StaleDataError. (On SQLite, BEGIN IMMEDIATE serialises the two, so the check catches it.)
Either way the loser gets the answer the check would have given: 412 in the API, the
conflict page on the web.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.services.errors import Conflict, StaleVersion


@contextmanager
def lost_race_is_stale(
    session: Session, *, expected: int | None, current: Callable[[], int]
) -> Iterator[None]:
    """Wrap the flush of a versioned row. `current` re-reads the stored version (it runs
    after the rollback); without an `expected` version the loser gets a plain conflict."""
    try:
        yield
    except StaleDataError as exc:
        session.rollback()
        if expected is None:
            raise Conflict("someone else changed this record at the same moment") from exc
        raise StaleVersion(expected=expected, current=current()) from exc
