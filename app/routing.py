"""Routers that FastAPI can pass over in one step when a path cannot be theirs.

FastAPI (0.16x) keeps every included router as a node of the route table and, on each
request, walks the nodes in order, all the way down into each router, before it finds the
route; it does not first ask whether the path lies under the router's prefix (fastapi/fastapi
pull request 16159, open). A page request thus tried every JSON route of the API first.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette._utils import get_route_path  # as Starlette's and FastAPI's routes read it
from starlette.routing import Match
from starlette.types import Scope


class PrefixedRouter(APIRouter):
    """An APIRouter whose routes all lie under its `prefix`: a path outside it matches none
    of them, so it is refused before the routes are walked. Inside it, nothing changes."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = get_route_path(scope)
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            return Match.NONE, {}
        return super().matches(scope)
