"""Errors the services raise. None of them knows about HTTP; each surface maps them.

ServiceError
├── NotFound                 the record does not exist (or is not visible)
├── Conflict                 the write clashes with stored data (duplicate MRN, …)
├── StaleVersion             the caller edited an older version than the stored one
├── InvalidInput             values that parse but break a rule; carries FieldProblems
├── AuthenticationFailed     bad credentials, or a session/token that is not valid
└── Busy                     the database stayed locked longer than a request may wait
"""

from __future__ import annotations

from app.domain.patients import FieldProblem


class ServiceError(Exception):
    code = "service_error"


class NotFound(ServiceError):
    code = "not_found"


class Conflict(ServiceError):
    code = "conflict"


class StaleVersion(ServiceError):
    code = "stale_version"

    def __init__(self, *, expected: int, current: int) -> None:
        super().__init__(f"version {expected} was edited, the record is now at version {current}")
        self.expected = expected
        self.current = current


class InvalidInput(ServiceError):
    code = "invalid_input"

    def __init__(self, problems: tuple[FieldProblem, ...]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


class AuthenticationFailed(ServiceError):
    code = "authentication_failed"


class Forbidden(ServiceError):
    code = "forbidden"


class Busy(ServiceError):
    """Another transaction held SQLite's write lock for longer than busy_timeout: nothing of
    this request was saved, and trying again in a moment is the remedy (503, Retry-After)."""

    code = "busy"
    retry_after_seconds = 2

    def __init__(self) -> None:
        super().__init__("The database is busy; nothing was saved. Try again in a moment.")
