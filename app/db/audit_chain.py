"""The audit hash chain: canonical form of a row and the link hash (RELIABILITY.md A3).

    h_0 = GENESIS_HASH (32 zero bytes)
    h_n = SHA-256(h_(n-1) as 32 raw bytes || canonical(row_n))

canonical(row) is the UTF-8 JSON object of every column of `audit_event` except the two
hash columns (`prev_hash`, `row_hash`), keys sorted, no whitespace, non-ASCII kept as is.
Columns whose value is NULL are left out, so a nullable column added later does not change
the bytes of older rows. Timestamps are UTC ISO 8601 with microseconds ("…T10:00:00.000000
+00:00"); `detail` is its parsed JSON value. Values are normalised from what the drivers
return (SQLite hands back text, PostgreSQL datetimes and parsed JSON), so the writer and
the verifier hash the same bytes on every backend.

The chain migration carries a frozen copy of these functions: change them only together
with a migration that re-chains, or every stored hash stops verifying.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
HASH_COLUMNS = frozenset({"prev_hash", "row_hash"})


class UnreadableValue(ValueError):
    """A stored value that cannot be what the writer stored (bad timestamp or JSON text)."""


def canonical_row(fields: Mapping[str, Any]) -> bytes:
    values = {
        name: _canonical_value(name, value)
        for name, value in fields.items()
        if name not in HASH_COLUMNS and value is not None
    }
    # JSON null in `detail` reads back as None on one backend and "null" on another.
    document = {name: value for name, value in values.items() if value is not None}
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical_row(fields)).hexdigest()


def _canonical_value(name: str, value: Any) -> Any:
    if name == "occurred_at":
        return _utc_timestamp(value)
    if name == "detail":
        return _json_value(value)
    if isinstance(value, datetime):
        return _utc_timestamp(value)
    return value


def _utc_timestamp(value: Any) -> str:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise UnreadableValue("timestamp is not ISO 8601") from exc
    if not isinstance(value, datetime):
        raise UnreadableValue("timestamp is not a date and time")
    # SQLite keeps no offset; the app only ever writes UTC.
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat(timespec="microseconds")


def _json_value(value: Any) -> Any:
    # A round trip through JSON gives what the database hands back (tuples become lists).
    text = value if isinstance(value, str) else json.dumps(value, allow_nan=False)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UnreadableValue("detail is not JSON") from exc
