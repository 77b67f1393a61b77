"""One ceiling for every wait in the browser tests (Playwright actions and `expect`).

A ceiling, not a speed requirement: a test waits for what it expects to see and goes on as
soon as it appears. On a loaded two-core CI machine a login (argon2 by design takes a good
part of a second of CPU) or a PDF can take several seconds; 5 s ceilings failed there.
"""

from __future__ import annotations

TIMEOUT_MS = 30_000
