"""ACCESS.md, parsed: the role table, the scope table and the route tables, as data.

The access tests take their expectations from the document itself, so the page a reader
trusts is the one the tests hold the app to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACCESS_MD = Path(__file__).resolve().parents[2] / "ACCESS.md"
PUBLIC, SIGNED_IN = "public", "signed-in"
# Routes the EHR calls: trusted by its signed JWT, not by a role or a scope.
EHR_ROUTES = frozenset({"ehr-signed"})
ROLE_COLUMNS = ("admin", "prescriber", "pharmacist", "viewer")

_CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True, slots=True)
class AccessDocument:
    roles: dict[str, frozenset[str]]  # operation -> roles allowed
    scopes: dict[str, frozenset[str]]  # scope -> operations granted
    routes: dict[tuple[str, str], str]  # (method, path) -> operation | public | signed-in


def read_access_document(path: Path = ACCESS_MD) -> AccessDocument:
    roles: dict[str, frozenset[str]] = {}
    scopes: dict[str, frozenset[str]] = {}
    routes: dict[tuple[str, str], str] = {}
    for cells in _table_rows(path.read_text(encoding="utf-8")):
        if len(cells) == 1 + len(ROLE_COLUMNS) and _is_code(cells[0]) and "." in cells[0]:
            allowed = {
                role for role, cell in zip(ROLE_COLUMNS, cells[1:], strict=True) if cell == "✓"
            }
            unknown = {cell for cell in cells[1:] if cell not in ("✓", "—")}
            assert not unknown, f"role table cell must be ✓ or —: {cells}"
            _put(roles, _unquote(cells[0]), frozenset(allowed))
        elif len(cells) == 2 and _is_code(cells[0]) and ":" in cells[0]:
            _put(scopes, _unquote(cells[0]), frozenset(_CODE.findall(cells[1])))
        elif len(cells) == 3 and cells[0] in ("GET", "POST", "PATCH", "PUT", "DELETE"):
            _put(routes, (cells[0], _unquote(cells[1])), _unquote(cells[2]))
    return AccessDocument(roles, scopes, routes)


def _table_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def _is_code(cell: str) -> bool:
    return cell.startswith("`") and cell.endswith("`")


def _unquote(cell: str) -> str:
    return cell.strip("`")


def _put(table: dict[Any, Any], key: object, value: object) -> None:
    assert key not in table, f"ACCESS.md lists {key!r} twice"
    table[key] = value
