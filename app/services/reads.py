"""Reads that take no write lock: the transaction of a request that writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from app.db.engine import READ_ONLY


@contextmanager
def read_only(session: Session) -> Iterator[None]:
    """Run the block in a plain read transaction and end it before returning.

    Every other transaction on SQLite starts with BEGIN IMMEDIATE, i.e. takes the database's
    one write lock (and waits up to busy_timeout for it). A read that writes nothing starts
    with a plain BEGIN instead: in WAL mode it never waits for a writer and never makes one
    wait. The transaction is committed (nothing was written), so the records read stay loaded
    (`expire_on_commit=False`) for the page that shows them. PostgreSQL ignores the option.
    """
    if not session.in_transaction():
        session.connection(execution_options={READ_ONLY: True})
    try:
        yield
    except BaseException:
        session.rollback()
        raise
    session.commit()
