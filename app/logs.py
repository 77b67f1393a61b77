"""Technical logging: one line per event, ids only, never patient data.

Control characters are escaped so that a crafted value cannot forge a second log line.
"""

from __future__ import annotations

import logging

_ESCAPES = str.maketrans({"\r": "\\r", "\n": "\\n", "\t": "\\t", "\x1b": "\\x1b"})


class _EscapingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).translate(_ESCAPES)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_EscapingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("titrate")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
