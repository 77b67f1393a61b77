"""ACCESS.md cannot drift: its tables equal the code's, and every route of the app is in it."""

from __future__ import annotations

from fastapi import FastAPI

from app.db.models import ROLES
from app.services import auth
from app.services.permissions import OPERATIONS, SCOPE_OPERATIONS
from tests.factories.access import EHR_ROUTES, PUBLIC, ROLE_COLUMNS, SIGNED_IN, read_access_document
from tests.factories.routes import iter_routes
from tests.security.test_route_inventory import PUBLIC_ROUTES

DOCUMENT = read_access_document()


def test_the_role_table_is_the_permissions_table() -> None:
    assert DOCUMENT.roles == OPERATIONS


def test_the_role_columns_are_every_role() -> None:
    assert set(ROLE_COLUMNS) == set(ROLES)


def test_the_scope_table_is_the_scope_mapping() -> None:
    assert DOCUMENT.scopes == SCOPE_OPERATIONS
    assert set(auth.SCOPES) == set(SCOPE_OPERATIONS)


# API.md §5.6: a client that previews plans may read which protocol versions the engine uses;
# the one operation two scopes grant.
SHARED_BY_SCOPES = {"protocol.read": {"protocols:write", "plans:preview"}}


def test_each_operation_belongs_to_one_scope_and_none_to_administration() -> None:
    granted = [op for ops in SCOPE_OPERATIONS.values() for op in ops]
    shared = {op for op in granted if granted.count(op) > 1}
    assert shared == set(SHARED_BY_SCOPES)
    for operation, scopes in SHARED_BY_SCOPES.items():
        assert {s for s, ops in SCOPE_OPERATIONS.items() if operation in ops} == scopes
    assert set(granted) <= set(OPERATIONS)
    admin_only = {op for op, roles in OPERATIONS.items() if roles == {"admin"}}
    assert admin_only.isdisjoint(granted)


def test_the_admin_sees_no_patient_data() -> None:
    phi = [op for op in OPERATIONS if op.startswith(("patient.", "plan.", "refill."))]
    assert phi
    assert [op for op in phi if "admin" in OPERATIONS[op]] == []


def test_every_route_of_the_app_is_in_the_document_and_nothing_else(app: FastAPI) -> None:
    app_routes = {(method, path) for method, path, _ in iter_routes(app)}
    assert sorted(app_routes - DOCUMENT.routes.keys()) == [], "routes missing from ACCESS.md"
    assert sorted(DOCUMENT.routes.keys() - app_routes) == [], "ACCESS.md names no such route"


def test_every_route_names_a_known_operation() -> None:
    unknown = {
        route: op
        for route, op in DOCUMENT.routes.items()
        if op not in OPERATIONS and op not in (PUBLIC, SIGNED_IN, *EHR_ROUTES)
    }
    assert unknown == {}


def test_the_public_routes_are_the_route_inventory_allowlist() -> None:
    public = {route for route, op in DOCUMENT.routes.items() if op == PUBLIC}
    assert public == PUBLIC_ROUTES


def test_each_api_route_demands_the_scope_that_grants_its_operation(app: FastAPI) -> None:
    mismatches = []
    for method, path, calls in iter_routes(app):
        operation = DOCUMENT.routes.get((method, path))
        if not path.startswith("/api/") or operation in (None, PUBLIC):
            continue
        demands = [call.required_scopes for call in calls if hasattr(call, "required_scopes")]
        # One scope dependency; each scope it accepts must grant the route's operation.
        if len(demands) != 1 or any(
            operation not in SCOPE_OPERATIONS.get(scope, ()) for scope in demands[0]
        ):
            mismatches.append(f"{method} {path}: {operation} needs {demands}")
    assert mismatches == []
