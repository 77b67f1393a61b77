"""Hostile patient data renders as text everywhere; pages carry no-store and a strict CSP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy.orm import Session

from tests.web.helpers import HX, make_patient, unique

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}",
    'hx-get="/x"',
]


def _assert_inert(page: str, payload: str) -> None:
    """The payload is on the page, but only as text: escaped, never as markup or attribute."""
    assert str(escape(payload)) in page
    for live in ("<script>alert", "<img src=x", 'hx-get="/x"', "onerror=alert(1)>"):
        assert live not in page


@pytest.mark.parametrize("payload", HOSTILE)
class TestHostileNamesAreEscaped:
    def test_on_the_list_and_in_the_search_fragment(
        self, logged_in_client: TestClient, db: Session, payload: str
    ) -> None:
        family = unique("Hostile")
        make_patient(db, family_name=family, given_name=payload)
        page = logged_in_client.get(f"/patients?q={family}").text
        _assert_inert(page, payload)
        fragment = logged_in_client.get(f"/patients?q={family}", headers=HX).text
        _assert_inert(fragment, payload)

    def test_on_the_detail_page_including_the_title(
        self, logged_in_client: TestClient, db: Session, payload: str
    ) -> None:
        patient = make_patient(db, family_name=payload, medications=(payload,))
        page = logged_in_client.get(f"/patients/{patient.id}").text
        _assert_inert(page, payload)
        title = page.split("<title>", 1)[1].split("</title>", 1)[0]
        assert "<" not in title

    def test_in_the_edit_form_values(
        self, logged_in_client: TestClient, db: Session, payload: str
    ) -> None:
        patient = make_patient(db, given_name=payload, family_name=payload)
        page = logged_in_client.get(f"/patients/{patient.id}/edit").text
        _assert_inert(page, payload)

    def test_when_echoed_back_in_a_search_with_no_results(
        self, logged_in_client: TestClient, payload: str
    ) -> None:
        page = logged_in_client.get("/patients", params={"q": payload}).text
        _assert_inert(page, payload)


def test_template_syntax_in_data_is_shown_literally_not_evaluated(
    logged_in_client: TestClient, db: Session
) -> None:
    patient = make_patient(db, family_name="{{7*7}}", given_name="{% raw %}")
    page = logged_in_client.get(f"/patients/{patient.id}").text
    assert "<h1>{{7*7}}, {% raw %}</h1>" in page


class TestSecurityHeaders:
    @pytest.mark.parametrize(
        "path", ["/patients", "/patients/new", "/patients?q=a", "/patients/987654321"]
    )
    def test_pages_with_patient_data_are_never_cached_and_carry_a_strict_csp(
        self, logged_in_client: TestClient, path: str
    ) -> None:
        response = logged_in_client.get(path)
        assert response.headers["cache-control"] == "no-store"
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert "object-src 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"

    def test_fragments_are_not_cached_either(self, logged_in_client: TestClient) -> None:
        response = logged_in_client.get("/patients?q=a", headers=HX)
        assert response.headers["cache-control"] == "no-store"
        assert "content-security-policy" in response.headers

    def test_the_login_page_and_its_redirects_carry_the_headers_too(
        self, client: TestClient
    ) -> None:
        for response in (client.get("/login"), client.get("/patients")):
            assert response.headers["cache-control"] == "no-store"
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]

    def test_pages_load_no_inline_script_and_htmx_from_our_own_static_folder(
        self, logged_in_client: TestClient
    ) -> None:
        page = logged_in_client.get("/patients").text
        assert "<script>" not in page
        assert '<script src="http://testserver/static/vendor/htmx.min.js" defer>' in page or (
            '<script src="/static/vendor/htmx.min.js" defer>' in page
        )
        assert page.count("<script") == 1
        assert " on" not in page.split("<body", 1)[1].split(">", 1)[0]  # no onload= etc.
