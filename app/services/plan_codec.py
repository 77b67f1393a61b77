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
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    return value


def canonical_json(value: Any) -> str:
    return json.dumps(to_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_sha256(*, input_json: str, plan_json: str) -> str:
    return hashlib.sha256(f"{input_json}\n{plan_json}".encode()).hexdigest()
