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
import hmac
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


# --- keys (issue 13): the chain is an HMAC chain keyed with a secret kept outside the DB ---
#
# Rows written since revision trust_0001 carry `key_id` and their row_hash is
#     HMAC-SHA256(key, h_(n-1) as 32 raw bytes || canonical(row_n))
# (canonical(row) now includes key_id). The chain head carries a seal,
#     HMAC-SHA256(key, "last_id|last_hash|unkeyed_last_id"),
# so whoever edits rows and re-chains them without the key breaks either a row's HMAC or,
# re-chaining them as unkeyed rows, the seal. The key comes from TITRATE_AUDIT_KEY, or is
# derived from TITRATE_SECRET_KEY; one process uses one set of keys, installed at start-up
# (app.main, app.cli) with `install_keys`.

KEY_DERIVATION_LABEL = b"titrate audit chain v1"


class AuditKeysMissing(RuntimeError):
    """An audit row was about to be written before the process installed its keys."""


class AuditKey:
    __slots__ = ("key_id", "secret")

    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self.key_id = hashlib.sha256(b"titrate audit key id\x00" + secret).hexdigest()[:16]


class AuditKeys:
    """The current key (writes and seals) and older ones (still verify their rows)."""

    def __init__(self, current: AuditKey, previous: tuple[AuditKey, ...] = ()) -> None:
        self.current = current
        self.by_id = {key.key_id: key for key in (current, *previous)}


_installed: AuditKeys | None = None


def derive_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode("utf-8"), KEY_DERIVATION_LABEL, hashlib.sha256).digest()


def install_keys(keys: AuditKeys) -> None:
    global _installed
    _installed = keys


def installed_keys() -> AuditKeys:
    if _installed is None:
        raise AuditKeysMissing("no audit chain key installed in this process")
    return _installed


def keyed_chain_hash(key: AuditKey, prev_hash: str, fields: Mapping[str, Any]) -> str:
    message = bytes.fromhex(prev_hash) + canonical_row(fields)
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


def head_seal(key: AuditKey, last_id: int, last_hash: str, unkeyed_last_id: int) -> str:
    message = f"{last_id}|{last_hash}|{unkeyed_last_id}".encode()
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()
