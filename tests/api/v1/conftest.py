from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.factories.users import make_token


@pytest.fixture
def token(db: Session) -> str:
    return make_token(db)


@pytest.fixture
def auth_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
