"""Which numbers can be the id of a row: INTEGER primary keys and version numbers."""

from __future__ import annotations

# PostgreSQL's INTEGER has 4 bytes (SQLite's 8), so no row on either database has a larger id.
MAX_ROW_ID = 2**31 - 1


def is_possible_row_id(value: int) -> bool:
    """False for a number no row can have. Asking the database about it would fail rather than
    find nothing: PostgreSQL refuses it next to an INTEGER column ("integer out of range") and
    SQLite cannot bind an integer past 2**63."""
    return 1 <= value <= MAX_ROW_ID
