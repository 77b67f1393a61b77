"""Opaque keyset cursors shared by both surfaces: (sort key, id) as URL-safe base64 JSON."""

from __future__ import annotations

import base64
import binascii
import json


class BadCursor(ValueError):
    pass


def encode_cursor(after: tuple[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[str, int] | None:
    if not cursor:
        return None
    try:
        text, record_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return (str(text), int(record_id))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadCursor("not a cursor this service issued") from exc
