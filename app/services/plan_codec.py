"""Canonical JSON for stored plans: decimals as strings, keys sorted, so hashes are stable.

Nothing passes through float on the way to the database; the content hash printed on a
schedule can be recomputed from the stored text at any time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any


def to_plain(value: Any) -> Any:
    """Domain values (dataclasses, tuples, enums, Decimal, dates) as plain JSON data."""
    kind = _KINDS.get(type(value))
    if kind is None:
        kind = _KINDS[type(value)] = _kind_of(type(value))
    if kind is _OTHER:
        return value
    if kind is _DECIMAL:
        return format(value, "f")
    if kind is _ENUM:
        return value.value
    if kind is _DATE:
        return value.isoformat()
    if kind is _SEQUENCE:
        return [to_plain(item) for item in value]
    if kind is _MAPPING:
        return {str(k): to_plain(v) for k, v in value.items()}
    return {name: to_plain(getattr(value, name)) for name in kind}


# What to_plain does with a value depends on its type alone, so it is decided once per type
# (a live preview converts a few hundred values per keystroke). The order of the checks is
# the order in which they apply: a dataclass first, then enum, Decimal, date, sequence, dict.
_OTHER, _DECIMAL, _ENUM, _DATE, _SEQUENCE, _MAPPING = (
    ("other",), ("decimal",), ("enum",), ("date",), ("sequence",), ("mapping",)
)  # fmt: skip
_KINDS: dict[type, tuple[str, ...]] = {}


def _kind_of(cls: type) -> tuple[str, ...]:
    if dataclasses.is_dataclass(cls) and not issubclass(cls, type):
        return tuple(f.name for f in dataclasses.fields(cls))  # the field names, in order
    for kind, base in ((_ENUM, Enum), (_DECIMAL, Decimal), (_DATE, date)):
        if issubclass(cls, base):
            return kind
    if issubclass(cls, list | tuple):
        return _SEQUENCE
    return _MAPPING if issubclass(cls, dict) else _OTHER


def canonical_json(value: Any) -> str:
    return json.dumps(to_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_sha256(*, input_json: str, plan_json: str) -> str:
    return hashlib.sha256(f"{input_json}\n{plan_json}".encode()).hexdigest()
