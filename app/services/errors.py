"""Errors the services raise. None of them knows about HTTP; each surface maps them.

ServiceError
├── NotFound                 the record does not exist (or is not visible)
├── Conflict                 the write clashes with stored data (duplicate MRN, …)
│   ├── IdempotencyKeyReused an Idempotency-Key sent again with another path or body
│   ├── SelfReview           a reviewer reviewing a version they created
│   └── SelfApproval         a pharmacist approving a protocol version they drafted
├── StaleVersion             the caller edited an older version than the stored one
├── InvalidInput             values that parse but break a rule; carries FieldProblems
├── AuthenticationFailed     bad credentials, or a session/token that is not valid
├── EhrUnavailable           the EHR's FHIR or authorisation server did not answer usefully
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


class IdempotencyKeyReused(Conflict):
    """The client sent an Idempotency-Key it already used for another path or body."""

    code = "idempotency_key_reused"


class SelfReview(Conflict):
    """A user or client tried to review a plan version it created (separation of duties)."""

    code = "self_review"


class SelfApproval(Conflict):
    """A user or client tried to approve a protocol version it drafted (four eyes)."""

    code = "self_approval"


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


class EhrUnavailable(ServiceError):
    code = "ehr_unavailable"


class Busy(ServiceError):
    """Another transaction held SQLite's write lock for longer than busy_timeout: nothing of
    this request was saved, and trying again in a moment is the remedy (503, Retry-After)."""

    code = "busy"
    retry_after_seconds = 2

    def __init__(self) -> None:
        super().__init__("The database is busy; nothing was saved. Try again in a moment.")
