"""Per-token and per-user request rate limits (RELIABILITY S7; issue 13, item 4).

A token bucket per API token and per signed-in user: `per_minute` requests a minute on
average, bursts up to `burst`. A request over the limit is a 429 with Retry-After, raised as
an audited refusal (app/refusals.py); only the first refusal of a run is audited, so a client
hammering the API cannot turn each refused request into a database write.

Counted in memory, per worker process: with N workers a caller gets at most N times the
limit. The login limits, which guard passwords, are counted in the database instead
(services/rate_limit.py). The hook: `check` from the API's token dependency
(api/v1/deps.py) and from the web's signed-in dependency (web/deps.py).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from app.refusals import AuditedRefusal
from app.services.context import Actor


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    refused_run: bool = False


class RequestLimiter:
    def __init__(self, per_minute: int, burst: int, clock: object = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._lock = threading.Lock()

    def wait(self, key: tuple[str, int]) -> tuple[float, bool]:
        """(seconds to wait, 0 when admitted; whether this is the first refusal of a run)."""
        now = self._clock()  # type: ignore[operator]
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(self.burst, now)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                bucket.refused_run = False
                return 0.0, False
            first = not bucket.refused_run
            bucket.refused_run = True
            return (1.0 - bucket.tokens) / self.rate, first

    def check(self, actor: Actor) -> None:
        if actor.id is None or actor.kind not in ("token", "user"):
            return
        wait, first = self.wait((actor.kind, actor.id))
        if wait > 0:
            raise AuditedRefusal(
                429,
                "Too many requests; retry later.",
                reason="rate_limit",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
                actor=actor,
                audit=first,
            )
