"""Login, logout and the login redirect of the HTML surface."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.helpers import HX, form_data, header_csrf, hidden_csrf, log_in


class TestLogin:
    def test_login_page_hands_out_a_form_token_and_its_cookie(self, client: TestClient) -> None:
        page = client.get("/login")
        assert page.status_code == 200
        assert 'name="username"' in page.text
        assert hidden_csrf(page.text) == client.cookies.get("titrate_login_csrf")

    def test_correct_password_redirects_to_the_worklist_with_an_httponly_session_cookie(
        self, client: TestClient
    ) -> None:
        response = log_in(client, "paula.prescriber")
        assert response.status_code == 303
        assert response.headers["location"].endswith("/worklist")  # the clinician's home
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("titrate_sid=")
        )
        assert "HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower()
        assert "Secure" not in cookie  # plain http here; TLS adds it
        page = client.get("/patients")
        assert page.status_code == 200
        assert "paula.prescriber (prescriber)" in page.text

    def test_wrong_password_rerenders_the_form_with_401_a_message_and_the_username_kept(
        self, client: TestClient
    ) -> None:
        response = log_in(client, "paula.prescriber", "not the password")
        assert response.status_code == 401
        assert "Unknown user or wrong password." in response.text
        assert 'value="paula.prescriber"' in response.text
        assert "titrate_sid" not in client.cookies
        # The re-rendered form carries a fresh token, so the user can simply try again.
        assert log_in(client, "paula.prescriber").status_code == 303

    def test_unknown_user_gets_the_same_message_as_a_wrong_password(
        self, client: TestClient
    ) -> None:
        response = log_in(client, "nobody.at.all")
        assert response.status_code == 401
        assert "Unknown user or wrong password." in response.text

    def test_login_post_without_the_form_token_is_refused(self, client: TestClient) -> None:
        client.get("/login")
        response = client.post(
            "/login", data={"username": "paula.prescriber", "password": "x", "csrf_token": "forged"}
        )
        assert response.status_code == 403
        assert "titrate_sid" not in client.cookies

    def test_a_logged_in_user_visiting_the_login_page_goes_to_the_worklist(
        self, logged_in_client: TestClient
    ) -> None:
        response = logged_in_client.get("/login")
        assert response.status_code == 303
        assert response.headers["location"].endswith("/worklist")

    def test_login_issues_a_new_session_id_and_ignores_a_planted_one(
        self, client: TestClient
    ) -> None:
        client.cookies.set("titrate_sid", "planted-by-an-attacker", domain="testserver.local")
        log_in(client, "paula.prescriber")
        first = client.cookies["titrate_sid"]
        assert first != "planted-by-an-attacker"
        client.cookies.clear()
        log_in(client, "paula.prescriber")
        assert client.cookies["titrate_sid"] not in {first, "planted-by-an-attacker"}


class TestLoginRequired:
    def test_a_plain_request_without_a_session_is_sent_to_login_with_303(
        self, client: TestClient
    ) -> None:
        response = client.get("/patients")
        assert response.status_code == 303
        assert response.headers["location"] == "http://testserver/login"

    def test_an_htmx_request_without_a_session_gets_hx_redirect_to_login(
        self, client: TestClient
    ) -> None:
        response = client.get("/patients?q=a", headers=HX)
        assert response.headers["hx-redirect"] == "http://testserver/login"
        assert "location" not in response.headers
        assert response.text == ""

    def test_a_form_post_without_a_session_is_sent_to_login_and_saves_nothing(
        self, client: TestClient
    ) -> None:
        response = client.post("/patients", data=form_data(csrf_token="x"))
        assert response.status_code == 303
        assert response.headers["location"].endswith("/login")

    def test_an_unknown_session_cookie_counts_as_not_logged_in(self, client: TestClient) -> None:
        client.cookies.set("titrate_sid", "made-up-session-id")
        response = client.get("/patients/new")
        assert response.status_code == 303
        assert response.headers["location"].endswith("/login")


class TestCsrf:
    def test_pages_give_htmx_and_plain_forms_the_same_session_token(
        self, logged_in_client: TestClient
    ) -> None:
        page = logged_in_client.get("/patients")
        token = header_csrf(page.text)
        assert len(token) >= 32
        assert hidden_csrf(page.text) == token  # the logout form in the header

    def test_a_post_with_the_token_in_the_header_is_accepted(
        self, logged_in_client: TestClient, csrf_token: str
    ) -> None:
        response = logged_in_client.post(
            "/patients", data=form_data(), headers={**HX, "X-CSRF-Token": csrf_token}
        )
        assert response.status_code == 204
        assert "/patients/" in response.headers["hx-redirect"]

    def test_a_post_without_a_token_is_refused_with_403(self, logged_in_client: TestClient) -> None:
        response = logged_in_client.post("/patients", data=form_data())
        assert response.status_code == 403
        assert "did not come from this site" in response.text

    def test_a_post_with_another_sessions_token_is_refused(
        self, logged_in_client: TestClient
    ) -> None:
        response = logged_in_client.post("/patients", data=form_data(csrf_token="a" * 43))
        assert response.status_code == 403

    def test_a_cross_origin_post_is_refused_even_with_the_right_token(
        self, logged_in_client: TestClient, csrf_token: str
    ) -> None:
        response = logged_in_client.post(
            "/patients",
            data=form_data(csrf_token=csrf_token),
            headers={"Origin": "https://evil.example"},
        )
        assert response.status_code == 403


class TestLogout:
    def test_logout_ends_the_session_on_the_server_not_only_the_cookie(
        self, logged_in_client: TestClient, csrf_token: str
    ) -> None:
        old_session = logged_in_client.cookies["titrate_sid"]
        response = logged_in_client.post("/logout", data={"csrf_token": csrf_token})
        assert response.status_code == 303
        assert response.headers["location"].endswith("/login")
        assert "titrate_sid" not in logged_in_client.cookies
        # Replaying the old cookie must not work.
        logged_in_client.cookies.set("titrate_sid", old_session)
        replay = logged_in_client.get("/patients")
        assert replay.status_code == 303
        assert replay.headers["location"].endswith("/login")

    def test_logout_without_the_token_is_refused_and_the_session_lives_on(
        self, logged_in_client: TestClient
    ) -> None:
        assert logged_in_client.post("/logout", data={}).status_code == 403
        assert logged_in_client.get("/patients").status_code == 200
