"""Every domain test starts with an engine that remembers nothing (builders.py says why)."""

from __future__ import annotations

import pytest

from tests.unit.domain.builders import forget_remembered_values


@pytest.fixture(autouse=True)
def engine_that_remembers_nothing() -> None:
    forget_remembered_values()
