"""Bad input that a page handler did not catch is still a 422 page, never a 500."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.domain.patients import FieldProblem
from app.domain.titration.errors import WrongUnitError
from app.services.errors import InvalidInput


def _invalid_input() -> None:
    raise InvalidInput((FieldProblem("weight_kg", "Weight must be <b>positive</b>."),))


def _wrong_unit() -> None:
    raise WrongUnitError("An oral dose must be in mg.", field="target_daily_dose")


@pytest.mark.parametrize(
    ("raise_it", "message"),
    [(_invalid_input, "weight_kg: Weight must be &lt;b&gt;positive&lt;/b&gt;."),
     (_wrong_unit, "An oral dose must be in mg.")],
)  # fmt: skip
def test_uncaught_bad_input_on_a_page_is_a_422_page(
    app: FastAPI, client: TestClient, raise_it: object, message: str
) -> None:
    app.add_api_route("/test-only/bad-input", raise_it)  # type: ignore[arg-type]
    response = client.get("/test-only/bad-input")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text
