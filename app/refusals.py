"""Refusals at the door that the audit trail records (issue 13, item 5).

A CSRF or Origin failure (403), a bad bearer token (401) and a rate-limit refusal (429) are
raised as `AuditedRefusal`; the one exception handler (app/errors.py) writes an
`access.refused` row for it in a transaction of its own, as for permission refusals. The row
holds the kind of refusal, method and path (ids only), never the token or the form.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import HTTPException, Request
from sqlalchemy.orm import Session

from app.middleware import loggable_path
from app.services import audit
from app.services.audit import AuditEntry
from app.services.context import Actor


class AuditedRefusal(HTTPException):
    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        reason: str,
        headers: Mapping[str, str] | None = None,
        actor: Actor | None = None,
        audit: bool = True,
    ) -> None:
        super().__init__(status_code, detail, headers=dict(headers) if headers else None)
        self.reason = reason  # csrf | origin | bad_token | rate_limit
        self.actor = actor
        self.audit = audit  # False: a repeat of a refusal already in the trail


def record(session: Session, request: Request, refusal: AuditedRefusal) -> None:
    actor = refusal.actor or Actor(
        kind="anonymous",
        id=None,
        name="anonymous",
        request_id=request.scope.get("state", {}).get("request_id"),
        client_ip=request.client.host if request.client else None,
    )
    action = "excess_rate_limit_exceeded" if refusal.reason == "rate_limit" else "access.refused"
    detail = {
        "reason": refusal.reason,
        "method": request.method,
        "path": loggable_path(request.url.path)[:200],
    }
    entry = AuditEntry(action, "request", None, detail=detail, outcome="failure")
    audit.record(session, actor, entry)
    session.commit()
