"""Who is acting, from where: passed into every service call that writes or reads PHI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # "user" | "token" | "system"
    id: int | None
    name: str
    role: str | None = None
    scopes: tuple[str, ...] = ()
    request_id: str | None = None
    client_ip: str | None = None
    # The care team whose patients this actor may see; None only for the system itself.
    clinic_id: int | None = None
    # A system admin manages clinics and administers the users and tokens of every clinic;
    # any other admin only those of their own clinic (issue 13).
    system_admin: bool = False


def stored_kind(actor: Actor) -> str:
    """How a plan, version or review records its author: "client" for an API token, whose
    free-text name must never read as a person's, else "user"."""
    return "client" if actor.kind == "token" else "user"


SYSTEM = Actor(kind="system", id=None, name="titrate")


def utc_now() -> datetime:
    return datetime.now(UTC)
