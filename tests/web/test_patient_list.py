"""The patient list: full page or fragment, live search, keyset pagination."""

from __future__ import annotations

import html
import re
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.web.helpers import HX, make_patient, unique


def _next_link(page: str) -> str:
    match = re.search(r'<a href="([^"]+)">Next page</a>', page)
    assert match, "no Next page link"
    return html.unescape(match.group(1))


def _names_in(page: str) -> list[str]:
    return re.findall(r'<a href="(?:http://testserver)?/patients/\d+">([^<]+)</a>', page)


class TestFullPageOrFragment:
    def test_a_plain_request_gets_the_whole_page_with_search_box(
        self, logged_in_client: TestClient
    ) -> None:
        response = logged_in_client.get("/patients")
        assert response.status_code == 200
        assert response.text.lstrip().startswith("<!doctype html>")
        assert "<html" in response.text
        assert 'id="q"' in response.text
        assert 'id="patient-results"' in response.text
        assert response.headers["vary"] == "HX-Request"

    def test_an_htmx_request_gets_only_the_results_fragment(
        self, logged_in_client: TestClient
    ) -> None:
        response = logged_in_client.get("/patients?q=zz", headers=HX)
        assert response.status_code == 200
        assert "<html" not in response.text
        assert "<body" not in response.text
        assert 'id="q"' not in response.text
        assert response.text.strip().startswith('<div id="patient-results">')
        assert response.headers["vary"] == "HX-Request"

    def test_a_history_restore_gets_the_whole_page_so_back_never_shows_a_fragment(
        self, logged_in_client: TestClient
    ) -> None:
        response = logged_in_client.get(
            "/patients?q=zz", headers={**HX, "HX-History-Restore-Request": "true"}
        )
        assert response.status_code == 200
        assert "<html" in response.text
        assert 'value="zz"' in response.text
        assert response.headers["vary"] == "HX-Request"

    def test_the_search_box_is_wired_for_live_search_into_the_results(
        self, logged_in_client: TestClient
    ) -> None:
        page = logged_in_client.get("/patients").text
        search = re.search(r'<input id="q"[^>]*>', page, re.S)
        assert search
        tag = search.group(0)
        assert re.search(r'hx-get="(?:http://testserver)?/patients"', tag)
        assert 'hx-target="#patient-results"' in tag
        assert 'hx-push-url="true"' in tag
        assert "input changed delay:" in tag
        # Without JavaScript the surrounding form still searches.
        assert re.search(
            r'<form class="search" method="get" action="(?:http://testserver)?/patients"', page
        )


class TestSearch:
    def test_search_finds_a_patient_by_family_name_in_the_fragment(
        self, logged_in_client: TestClient, db: Session
    ) -> None:
        family = unique("Searchable")
        wanted = make_patient(db, family_name=family, given_name="Wanda")
        make_patient(db, family_name=unique("Other"))
        response = logged_in_client.get(f"/patients?q={family[:14].lower()}", headers=HX)
        assert response.status_code == 200
        assert _names_in(response.text) == [f"{family}, Wanda"]
        assert f'/patients/{wanted.id}"' in response.text

    def test_search_finds_a_patient_by_mrn(self, logged_in_client: TestClient, db: Session) -> None:
        mrn = unique("MRN-FIND-")
        patient = make_patient(db, mrn=mrn)
        response = logged_in_client.get(f"/patients?q={mrn}", headers=HX)
        assert _names_in(response.text) == [f"{patient.family_name}, {patient.given_name}"]
        assert f"<td>{mrn}</td>" in response.text

    def test_search_matches_all_words_in_any_order(
        self, logged_in_client: TestClient, db: Session
    ) -> None:
        family = unique("Multiword")
        make_patient(db, family_name=family, given_name="Quentin")
        make_patient(db, family_name=family, given_name="Rosalind")
        response = logged_in_client.get(f"/patients?q=quentin {family}", headers=HX)
        assert _names_in(response.text) == [f"{family}, Quentin"]

    def test_the_lists_own_family_comma_given_format_finds_the_patient(
        self, logged_in_client: TestClient, db: Session
    ) -> None:
        family = unique("Pumptest")
        make_patient(db, family_name=family, given_name="Jonas")
        make_patient(db, family_name=family, given_name="Karla")
        response = logged_in_client.get(f"/patients?q={family}, Jonas", headers=HX)
        assert _names_in(response.text) == [f"{family}, Jonas"]

    def test_a_birth_date_finds_the_patients_born_that_day_alone_or_with_a_name(
        self, logged_in_client: TestClient, db: Session
    ) -> None:
        family = unique("Born")
        make_patient(db, family_name=family, given_name="Early", birth_date=date(1911, 3, 4))
        make_patient(db, family_name=family, given_name="Later", birth_date=date(1911, 3, 5))
        iso = logged_in_client.get("/patients?q=1911-03-04", headers=HX)
        assert _names_in(iso.text) == [f"{family}, Early"]
        german = logged_in_client.get(f"/patients?q={family} 05.03.1911", headers=HX)
        assert _names_in(german.text) == [f"{family}, Later"]
        nobody = logged_in_client.get(f"/patients?q={family} 1911-03-06", headers=HX)
        assert _names_in(nobody.text) == []
        # Not a date (no 30 February): searched as a word, which no patient has.
        impossible = logged_in_client.get("/patients?q=1911-02-30", headers=HX)
        assert _names_in(impossible.text) == []

    def test_a_search_without_matches_says_so_and_repeats_the_query(
        self, logged_in_client: TestClient
    ) -> None:
        response = logged_in_client.get("/patients?q=nobody-has-this-name-xq", headers=HX)
        assert "No patients match “nobody-has-this-name-xq”." in response.text
        assert "<table" not in response.text

    def test_archived_patients_are_not_listed(
        self, logged_in_client: TestClient, db: Session, csrf_token: str
    ) -> None:
        patient = make_patient(db)
        archived = logged_in_client.post(
            f"/patients/{patient.id}/archive",
            data={"csrf_token": csrf_token, "version": "1", "reason": "duplicate record"},
        )
        assert archived.status_code == 303
        response = logged_in_client.get(f"/patients?q={patient.mrn}", headers=HX)
        assert _names_in(response.text) == []

    def test_an_overlong_query_is_refused_not_searched(self, logged_in_client: TestClient) -> None:
        assert logged_in_client.get("/patients?q=" + "x" * 101).status_code == 400


class TestPagination:
    def test_next_page_link_continues_where_the_first_page_ended(
        self, logged_in_client: TestClient, db: Session
    ) -> None:
        family = unique("Paged")
        for n in range(23):
            make_patient(db, family_name=family, given_name=f"Given{n:02d}")
        first = logged_in_client.get(f"/patients?q={family}")
        first_names = _names_in(first.text)
        assert len(first_names) == 20
        assert first_names == sorted(first_names)

        second = logged_in_client.get(_next_link(first.text))
        assert second.status_code == 200
        second_names = _names_in(second.text)
        assert len(second_names) == 3
        assert set(first_names).isdisjoint(second_names)
        assert sorted(first_names + second_names) == [f"{family}, Given{n:02d}" for n in range(23)]
        assert "Next page" not in second.text
        assert f'value="{family}"' in second.text  # the query is kept on page two

    def test_next_page_link_in_a_fragment_keeps_the_query(
        self, logged_in_client: TestClient, db: Session
    ) -> None:
        family = unique("Fragpaged")
        for n in range(21):
            make_patient(db, family_name=family, given_name=f"G{n:02d}")
        fragment = logged_in_client.get(f"/patients?q={family}", headers=HX)
        link = _next_link(fragment.text)
        assert f"q={family}" in link
        second = logged_in_client.get(link, headers=HX)
        assert _names_in(second.text) == [f"{family}, G20"]

    def test_a_mangled_cursor_restarts_the_list_instead_of_failing(
        self, logged_in_client: TestClient, db: Session
    ) -> None:
        patient = make_patient(db)
        response = logged_in_client.get(f"/patients?q={patient.mrn}&cursor=not-a-cursor")
        assert response.status_code == 200
        assert _names_in(response.text) == [f"{patient.family_name}, {patient.given_name}"]
