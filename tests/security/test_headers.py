from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories.sessions import log_in


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/login", "/patients", "/api/v1/patients", "/static/css/app.css", "/no-such-page"],
)
def test_security_headers_on_every_kind_of_response(client: TestClient, path: str) -> None:
    response = client.get(path)
    csp = response.headers["content-security-policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in csp
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "unsafe-inline" not in script_src
    assert "unsafe-eval" not in script_src
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_pages_with_patient_data_are_never_cached(client: TestClient) -> None:
    log_in(client)
    assert client.get("/patients").headers["cache-control"] == "no-store"


def test_tls_adds_hsts() -> None:
    # A separate check of the middleware alone, addressed over https.
    from app.config import Settings
    from app.main import create_app

    app = create_app(Settings(environment="test", database_url="sqlite://", secret_key="x" * 40))
    with TestClient(app, base_url="https://testserver") as tls_client:
        response = tls_client.get("/static/css/app.css")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_placeholder_secret_is_refused_outside_dev() -> None:
    from pydantic import ValidationError

    from app.config import Settings

    with pytest.raises(ValidationError, match="TITRATE_SECRET_KEY"):
        Settings(environment="prod", secret_key="change-me")
