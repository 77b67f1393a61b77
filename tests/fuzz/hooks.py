"""Schemathesis hooks for the command-line run (bench/schemathesis.sh, SCHEMATHESIS_HOOKS).

Registers the project's own checks so that `st run --checks all` includes them.
"""

from __future__ import annotations

import schemathesis

from tests.fuzz import checks

schemathesis.check(checks.security_headers)
schemathesis.check(checks.no_internal_details)
