"""Opaque keyset cursors shared by both surfaces: (sort key, id) as URL-safe base64 JSON."""

from __future__ import annotations

import base64
import binascii
import json

from app.db.row_ids import is_possible_row_id


class BadCursor(ValueError):
    pass


def encode_cursor(after: tuple[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[str, int] | None:
    if not cursor:
        return None
    try:
        text, record_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadCursor("not a cursor this service issued") from exc
    # Only what encode_cursor writes: text without NUL and an id a row can have. A forged one
    # could carry Infinity, or a NUL or an integer that the database refuses in a comparison.
    if not isinstance(text, str) or "\x00" in text or type(record_id) is not int:
        raise BadCursor("not a cursor this service issued")
    if not is_possible_row_id(record_id):
        raise BadCursor("not a cursor this service issued")
    return (text, record_id)
