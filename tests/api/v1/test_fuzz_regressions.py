"""Bugs Schemathesis found in /api/v1 (tests/fuzz), each kept as a plain regression test.

Every one of these answered 500 or an undocumented status before its fix; the fuzz run proves
the absence of the whole class, these pin the exact inputs.
"""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from tests.api.v1.test_plans import plan_body
from tests.factories.patients import patient_payload

PROBLEM_JSON = "application/problem+json"
TOO_BIG_FOR_POSTGRESQL_INTEGER = 2**31
TOO_BIG_FOR_SQLITE_TO_BIND = 2**63


def _is_problem(response, status: int) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == status and response.headers["content-type"].startswith(
        PROBLEM_JSON
    )


@pytest.fixture
def plan_id(client: TestClient, auth_headers: dict[str, str]) -> int:
    payload = patient_payload(sex="male", weight_kg=80, height_cm=180, medications=["oxycodone"])
    patient = client.post("/api/v1/patients", json=payload, headers=auth_headers).json()
    url = f"/api/v1/patients/{patient['id']}/plans"
    response = client.post(url, json=plan_body(), headers=auth_headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


class TestABodyThatIsNotTextIsAValidationProblem:
    """Was 400 "There was an error parsing the body", a status no operation documents."""

    @pytest.mark.parametrize(
        "path", ["/api/v1/patients", "/api/v1/plans/preview", "/api/v1/itb/refill"]
    )
    def test_invalid_utf8_is_422(
        self, client: TestClient, auth_headers: dict[str, str], path: str
    ) -> None:
        headers = {**auth_headers, "Content-Type": "application/json"}
        response = client.post(path, content=b"!N\x02*F\xff", headers=headers)
        assert _is_problem(response, 422), response.text
        assert response.json()["errors"] == [
            {"loc": ["body"], "msg": "The body could not be read as JSON."}
        ]

    def test_json_nested_too_deep_to_parse_is_422(
        self, client: TestClient, auth_headers: dict[str, str]
    ) -> None:
        body = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        headers = {**auth_headers, "Content-Type": "application/json"}
        response = client.post("/api/v1/patients", content=body, headers=headers)
        assert _is_problem(response, 422), response.text


class TestTheOpenApiDocumentDescribesWhatTheApiDoes:
    def test_every_422_is_documented_as_a_problem(self, client: TestClient) -> None:
        """FastAPI's default 422 (application/json, another shape) stood on routes that did
        not list 422 themselves, while the app always answers application/problem+json."""
        schema = client.get("/openapi.json").json()
        for path, operations in schema["paths"].items():
            if not path.startswith("/api/"):
                continue
            for method, operation in operations.items():
                content = operation["responses"]["422"]["content"]
                assert list(content) == [PROBLEM_JSON], f"{method.upper()} {path}"

    def test_every_operation_declares_the_bearer_token(self, client: TestClient) -> None:
        """Without a declared security scheme no client, and no ignored_auth check, could know
        that a token is needed."""
        schema = client.get("/openapi.json").json()
        assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
        # The calendar feed is public: calendar apps send no token, the address is the secret.
        public = {"/api/v1/calendar-feeds/{token}.ics"}
        for path, operations in schema["paths"].items():
            if path.startswith("/api/"):
                for method, operation in operations.items():
                    expected = None if path in public else [{"HTTPBearer": []}]
                    assert operation.get("security") == expected, f"{method} {path}"

    def test_a_lowercase_scheme_and_padding_around_the_token_still_authenticate(
        self, client: TestClient, auth_headers: dict[str, str]
    ) -> None:
        token = auth_headers["Authorization"].removeprefix("Bearer ")
        response = client.get("/api/v1/patients", headers={"Authorization": f"bearer  {token} "})
        assert response.status_code == 200

    @pytest.mark.parametrize("header", ["", "Bearer", "Bearer   ", "Basic abc", "tt_abc"])
    def test_a_missing_or_malformed_authorization_is_401_with_a_challenge(
        self, client: TestClient, header: str
    ) -> None:
        response = client.get("/api/v1/patients", headers={"Authorization": header})
        assert _is_problem(response, 401)
        assert response.headers["www-authenticate"] == 'Bearer realm="titrate"'


class TestIdsNoRowCanHaveAreNotFound:
    """Were 500: PostgreSQL refuses 2**31 next to an INTEGER column ("integer out of range"),
    SQLite cannot bind 2**63 ("Python int too large to convert to SQLite INTEGER")."""

    @pytest.mark.parametrize("number", [TOO_BIG_FOR_POSTGRESQL_INTEGER, TOO_BIG_FOR_SQLITE_TO_BIND])
    @pytest.mark.parametrize(
        ("method", "template"),
        [
            ("GET", "/api/v1/patients/{n}"),
            ("GET", "/api/v1/patients/{n}/plans"),
            ("GET", "/api/v1/plans/{n}"),
            ("GET", "/api/v1/plans/{n}/versions"),
            ("GET", "/api/v1/plans/{n}/reviews"),
            ("GET", "/api/v1/plans/{n}/fhir"),
            ("GET", "/api/v1/plans/{n}/calendar.ics"),
        ],
    )
    def test_reading_one_is_404(
        self,
        client: TestClient,
        auth_headers: dict[str, str],
        method: str,
        template: str,
        number: int,
    ) -> None:
        response = client.request(method, template.format(n=number), headers=auth_headers)
        assert _is_problem(response, 404), response.text

    @pytest.mark.parametrize("number", [TOO_BIG_FOR_POSTGRESQL_INTEGER, TOO_BIG_FOR_SQLITE_TO_BIND])
    @pytest.mark.parametrize("action", ["hold", "resume", "discontinue"])
    def test_changing_the_state_of_one_is_404(
        self, client: TestClient, auth_headers: dict[str, str], action: str, number: int
    ) -> None:
        response = client.post(
            f"/api/v1/plans/{number}/{action}", json={"reason": "0"}, headers=auth_headers
        )
        assert _is_problem(response, 404), response.text

    @pytest.mark.parametrize("number", [TOO_BIG_FOR_POSTGRESQL_INTEGER, TOO_BIG_FOR_SQLITE_TO_BIND])
    def test_asking_for_a_version_number_no_plan_has_is_404(
        self, client: TestClient, auth_headers: dict[str, str], plan_id: int, number: int
    ) -> None:
        response = client.get(
            f"/api/v1/plans/{plan_id}/fhir", params={"version": number}, headers=auth_headers
        )
        assert _is_problem(response, 404), response.text


def _cursor(content: str) -> str:
    return base64.urlsafe_b64encode(content.encode()).decode()


class TestForgedCursorsAreRefused:
    """A cursor is opaque but readable; a forged one reached the database or int() and was
    500 (Infinity → OverflowError, a huge id or a NUL → refused by the database)."""

    @pytest.mark.parametrize(
        "content",
        [
            '["a", Infinity]',
            '["a", 1e400]',
            '["a", 1.5]',
            '["a", true]',
            f'["a", {TOO_BIG_FOR_POSTGRESQL_INTEGER}]',
            f'["a", {TOO_BIG_FOR_SQLITE_TO_BIND}]',
            '["a\\u0000b", 1]',
            '[["a"], 1]',
            '{"a": 1, "b": 2}',
            "[1]",
            "null",
        ],
    )
    def test_with_a_422_problem(
        self, client: TestClient, auth_headers: dict[str, str], content: str
    ) -> None:
        response = client.get(
            "/api/v1/patients", params={"cursor": _cursor(content)}, headers=auth_headers
        )
        assert _is_problem(response, 422), response.text

    def test_a_cursor_the_api_issued_still_pages(
        self, client: TestClient, auth_headers: dict[str, str]
    ) -> None:
        family = "Cursorfamily"
        for given in ("Ann", "Bea", "Cid"):
            client.post(
                "/api/v1/patients",
                json=patient_payload(given_name=given, family_name=family),
                headers=auth_headers,
            )
        first = client.get(
            "/api/v1/patients", params={"q": family, "limit": 2}, headers=auth_headers
        ).json()
        assert json.loads(base64.urlsafe_b64decode(first["next_cursor"]))[1] >= 1
        rest = client.get(
            "/api/v1/patients",
            params={"q": family, "limit": 2, "cursor": first["next_cursor"]},
            headers=auth_headers,
        ).json()
        assert len(first["items"]) + len(rest["items"]) == 3


class TestNulInTextIsA422OnEveryDatabase:
    """PostgreSQL refuses NUL in text ("PostgreSQL text fields cannot contain NUL"): storing
    or searching for one was a 500 there and silently stored on SQLite."""

    @pytest.mark.parametrize(
        "overrides",
        [
            {"given_name": "A\x00B"},
            {"family_name": "\x00"},
            {"mrn": "MRN\x00"},
            {"medications": ["baclofen", "x\x00"]},
            {"spinal_injury_level": "T\x00"},
        ],
    )
    def test_in_a_new_patient(
        self, client: TestClient, auth_headers: dict[str, str], overrides: dict[str, object]
    ) -> None:
        response = client.post(
            "/api/v1/patients", json=patient_payload(**overrides), headers=auth_headers
        )
        assert _is_problem(response, 422), response.text
        (error,) = response.json()["errors"]
        assert error["loc"] == ["body", next(iter(overrides))]
        assert "NUL" in error["msg"]

    def test_in_a_search(self, client: TestClient, auth_headers: dict[str, str]) -> None:
        response = client.get("/api/v1/patients", params={"q": "a\x00"}, headers=auth_headers)
        assert _is_problem(response, 422), response.text

    def test_in_a_nested_reason(
        self, client: TestClient, auth_headers: dict[str, str], plan_id: int
    ) -> None:
        body = plan_body(overrides=[{"code": "x", "reason": "because\x00"}], reason="r")
        response = client.post(
            f"/api/v1/plans/{plan_id}/versions",
            json=body,
            headers={**auth_headers, "If-Match": '"1"'},
        )
        assert _is_problem(response, 422), response.text
        assert response.json()["errors"][0]["loc"] == ["body", "overrides", 0, "reason"]

    @pytest.mark.parametrize("action", ["hold", "discontinue"])
    def test_in_a_state_change_reason(
        self, client: TestClient, auth_headers: dict[str, str], plan_id: int, action: str
    ) -> None:
        response = client.post(
            f"/api/v1/plans/{plan_id}/{action}", json={"reason": "\x00"}, headers=auth_headers
        )
        assert _is_problem(response, 422), response.text

    def test_other_control_characters_are_kept_as_text(
        self, client: TestClient, auth_headers: dict[str, str]
    ) -> None:
        # An implicit direction mark is text; the explicit bidi controls (U+202E) are refused
        # (app/domain/text.py, tests/security/test_hostile_limits.py).
        name = "Line\r\nbreak\t\u200fRTL\u200b"
        response = client.post(
            "/api/v1/patients", json=patient_payload(given_name=name), headers=auth_headers
        )
        assert response.status_code == 201, response.text
        assert response.json()["given_name"] == name


class TestDatesAreIsoDatesOnly:
    """Pydantic read 0 or "86400" as a Unix time and a datetime as its date: a client's
    mistake became a patient born on 1970-01-01. Found as "schema-violating request accepted"
    (`fill_date=0`)."""

    @pytest.mark.parametrize("value", [0, "0", 86400, "86400", "2026-01-01T00:00:00", "1.5"])
    def test_a_birth_date_that_is_not_yyyy_mm_dd_is_422(
        self, client: TestClient, auth_headers: dict[str, str], value: object
    ) -> None:
        response = client.post(
            "/api/v1/patients", json=patient_payload(birth_date=value), headers=auth_headers
        )
        assert _is_problem(response, 422), response.text
        assert response.json()["errors"][0]["loc"] == ["body", "birth_date"]

    def test_a_start_date_as_a_number_is_422(
        self, client: TestClient, auth_headers: dict[str, str], plan_id: int
    ) -> None:
        response = client.post(
            f"/api/v1/plans/{plan_id}/versions",
            json=plan_body(start_date=0, reason="r"),
            headers={**auth_headers, "If-Match": '"1"'},
        )
        assert _is_problem(response, 422), response.text

    def test_a_fill_date_as_a_number_is_422_in_the_body_and_the_query(
        self, client: TestClient, auth_headers: dict[str, str], plan_id: int
    ) -> None:
        refill = {
            "reservoir_ml": 20,
            "alarm_volume_ml": 2,
            "concentration_mcg_per_ml": 500,
            "daily_dose": {"value": 100, "unit": "mcg"},
            "fill_date": 0,
        }
        response = client.post("/api/v1/itb/refill", json=refill, headers=auth_headers)
        assert _is_problem(response, 422), response.text
        response = client.get(
            f"/api/v1/plans/{plan_id}/schedule.pdf", params={"fill_date": "0"}, headers=auth_headers
        )
        assert _is_problem(response, 422), response.text

    def test_an_iso_date_is_still_a_date(
        self, client: TestClient, auth_headers: dict[str, str]
    ) -> None:
        response = client.post(
            "/api/v1/patients", json=patient_payload(birth_date="1970-01-02"), headers=auth_headers
        )
        assert response.status_code == 201, response.text
        assert response.json()["birth_date"] == "1970-01-02"


class TestFlagsAreJsonBooleansOnly:
    """Pydantic read 0, 1, "no" or "on" as booleans; found as "schema-violating request
    accepted" (`"breastfeeding": 0`). Dialysis and pregnancy change the plan."""

    @pytest.mark.parametrize("value", [0, 1, "true", "no", "on"])
    @pytest.mark.parametrize("flag", ["dialysis", "pregnant", "breastfeeding"])
    def test_a_flag_that_is_not_true_or_false_is_422(
        self, client: TestClient, auth_headers: dict[str, str], flag: str, value: object
    ) -> None:
        response = client.post(
            "/api/v1/patients", json=patient_payload(**{flag: value}), headers=auth_headers
        )
        assert _is_problem(response, 422), response.text
        assert response.json()["errors"][0]["loc"] == ["body", flag]

    def test_true_and_false_still_work(
        self, client: TestClient, auth_headers: dict[str, str]
    ) -> None:
        response = client.post(
            "/api/v1/patients",
            json=patient_payload(dialysis=True, pregnant=False),
            headers=auth_headers,
        )
        assert response.status_code == 201, response.text
        assert (response.json()["dialysis"], response.json()["pregnant"]) == (True, False)


REFILL = {
    "reservoir_ml": 20,
    "alarm_volume_ml": 2,
    "concentration_mcg_per_ml": 500,
    "daily_dose": {"value": 150, "unit": "mcg"},
    "fill_date": "2026-12-01",
    "max_refill_interval_days": 365,
}


class TestTheRefillCalculatorAnswersEveryValidInput:
    def test_a_volume_with_many_digits_is_given_to_4_places(
        self, client: TestClient, auth_headers: dict[str, str]
    ) -> None:
        """150 ÷ 1999 has 28 digits; the answer model allows 4 places: it was a 500."""
        body = {**REFILL, "concentration_mcg_per_ml": 1999}
        response = client.post("/api/v1/itb/refill", json=body, headers=auth_headers)
        assert response.status_code == 200, response.text
        assert response.json()["daily_volume_ml"] == 0.075
        assert response.json()["days_to_alarm"] == 239.88

    @pytest.mark.parametrize(
        "changes",
        [
            {"reservoir_ml": 50, "alarm_volume_ml": 0, "concentration_mcg_per_ml": 2000,
             "daily_dose": {"value": 0.001, "unit": "mcg"}},
            {"fill_date": "9999-12-01"},
        ],
    )  # fmt: skip
    def test_an_alarm_beyond_the_calendar_is_422_not_an_overflow(
        self, client: TestClient, auth_headers: dict[str, str], changes: dict[str, object]
    ) -> None:
        response = client.post(
            "/api/v1/itb/refill", json={**REFILL, **changes}, headers=auth_headers
        )
        assert _is_problem(response, 422), response.text


class TestTheOpenApiExamplesWork:
    """The request examples are what integrators copy and where the fuzzer starts."""

    def test_the_preview_and_refill_examples_answer_200(
        self, client: TestClient, auth_headers: dict[str, str]
    ) -> None:
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
        for name, path in (
            ("PlanPreviewRequest", "plans/preview"),
            ("RefillRequest", "itb/refill"),
        ):
            (example,) = schemas[name]["examples"]
            response = client.post(f"/api/v1/{path}", json=example, headers=auth_headers)
            assert response.status_code == 200, (name, response.text)

    def test_the_patient_and_plan_examples_store(
        self, client: TestClient, auth_headers: dict[str, str]
    ) -> None:
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
        (patient,) = schemas["PatientCreate"]["examples"]
        created = client.post(
            "/api/v1/patients",
            json={**patient, "medications": ["oxycodone"]},
            headers=auth_headers,
        )
        assert created.status_code == 201, created.text
        (plan,) = schemas["PlanCreate"]["examples"]
        stored = client.post(
            f"/api/v1/patients/{created.json()['id']}/plans", json=plan, headers=auth_headers
        )
        assert stored.status_code == 201, stored.text
        (revision,) = schemas["PlanRevision"]["examples"]
        revised = client.post(
            f"/api/v1/plans/{stored.json()['id']}/versions",
            json=revision,
            headers={**auth_headers, "If-Match": '"1"'},
        )
        assert revised.status_code == 201, revised.text
