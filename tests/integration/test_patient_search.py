"""Patient search: each query word begins a word of the family name, given name or MRN
(accents and case ignored), results in list order a page at a time, through the
patient_search_term index that the patient service keeps current. Made-up patients only."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db.models import PatientRecord, PatientSearchTermRecord
from app.db.repositories import patient_search
from app.db.repositories.patients import PatientPage
from app.services import patients as patient_service
from tests.factories.clinics import make_clinic, make_patient_in, system_actor

CAST = (
    # given name, family name, MRN
    ("Anna", "Nguyễn", "RX-40021"),
    ("Jean-Luc", "Smith-Jones", "RX-40022"),
    ("Liam", "O'Brien", "RX-40023"),
    ("Thi Mai", "Trần", "RX-40024"),
    ("Karl", "Müller", "RX-40025"),
    ("Minh", "Đặng", "RX-40026"),
    ("Erik", "Großmann", "RX-40027"),
    ("Annabel", "Smith", "RX-50001"),
)


@pytest.fixture
def clinic(db: Session) -> int:
    """A clinic of the test's own, so a search sees exactly the patients the test made."""
    return make_clinic(db)


@pytest.fixture
def cast(db: Session, clinic: int) -> dict[str, PatientRecord]:
    return {
        given: make_patient_in(db, clinic, given_name=given, family_name=family, mrn=mrn)
        for given, family, mrn in CAST
    }


def search(
    db: Session,
    clinic: int,
    query: str,
    *,
    limit: int = 50,
    after: tuple[str, int] | None = None,
    include_archived: bool = False,
) -> PatientPage:
    return patient_service.search_patients(
        db,
        actor=system_actor(clinic),
        text=query,
        limit=limit,
        after=after,
        include_archived=include_archived,
    )


def given_names(page: PatientPage) -> list[str]:
    return [p.given_name for p in page.items]


def every_page(db: Session, clinic: int, query: str, limit: int, **options: bool) -> list[int]:
    ids: list[int] = []
    after = None
    for _ in range(100):
        page = search(db, clinic, query, limit=limit, after=after, **options)
        assert len(page.items) <= limit
        ids += [p.id for p in page.items]
        if page.next_after is None:
            return ids
        assert len(page.items) == limit, "a page before the last one is full"
        after = page.next_after
    raise AssertionError("pagination did not end")


@pytest.mark.usefixtures("cast")
class TestWhatAQueryFinds:
    @pytest.mark.parametrize(
        ("query", "found"),
        [
            ("ngu", ["Anna"]),
            ("NGUYEN", ["Anna"]),
            ("nguyễn", ["Anna"]),
            ("mül", ["Karl"]),
            ("muller", ["Karl"]),
            ("dang", ["Minh"]),
            ("Đặng", ["Minh"]),
            ("grossm", ["Erik"]),
            ("tran", ["Thi Mai"]),
            ("mai", ["Thi Mai"]),
            ("anna", ["Annabel", "Anna"]),  # list order: Nguyễn before Smith
            ("smith", ["Jean-Luc", "Annabel"]),
            ("jones", ["Jean-Luc"]),
            ("smith-jo", ["Jean-Luc"]),
            ("luc", ["Jean-Luc"]),
            ("brien", ["Liam"]),
            ("o'b", ["Liam"]),
            ("rx-40024", ["Thi Mai"]),
            ("40026", ["Minh"]),
            ("rx-4002", ["Anna", "Minh", "Erik", "Jean-Luc", "Karl", "Liam", "Thi Mai"]),
        ],
    )
    def test_a_word_finds_the_names_and_mrns_it_begins(
        self, db: Session, clinic: int, query: str, found: list[str]
    ) -> None:
        assert sorted(given_names(search(db, clinic, query))) == sorted(found)

    @pytest.mark.parametrize("query", ["guyen", "uller", "ones", "0021", "rian", "nna"])
    def test_a_word_inside_a_name_is_not_a_match(
        self, db: Session, clinic: int, query: str
    ) -> None:
        assert search(db, clinic, query).items == ()

    @pytest.mark.parametrize(
        ("query", "found"),
        [
            ("anna nguyen", ["Anna"]),
            ("NGUYEN ann", ["Anna"]),
            ("smith annab", ["Annabel"]),
            ("smith 50001", ["Annabel"]),
            ("anna smith-jones", []),
            ("thi mai tran", ["Thi Mai"]),
        ],
    )
    def test_every_word_must_match_in_any_order_and_any_field(
        self, db: Session, clinic: int, query: str, found: list[str]
    ) -> None:
        assert given_names(search(db, clinic, query)) == found

    def test_results_come_in_list_order(self, db: Session, clinic: int) -> None:
        page = search(db, clinic, "rx")
        assert [p.search_text for p in page.items] == sorted(p.search_text for p in page.items)
        assert len(page.items) == len(CAST)

    @pytest.mark.parametrize("query", ["", "   "])
    def test_no_words_lists_every_patient_of_the_clinic(
        self, db: Session, clinic: int, query: str
    ) -> None:
        page = search(db, clinic, query)
        keys = [(p.search_text, p.id) for p in page.items]
        assert len(keys) == len(CAST)
        assert keys == sorted(keys)


class TestPages:
    NAMES = ("Mara", "Marek", "Mai", "Malte", "Tom", "Maximilian", "Ole")
    FAMILIES = ("Marsh", "Madsen", "Tamm", "Ott", "Maier-Lund", "Lund")

    def test_pages_hold_every_match_once_in_list_order(self, db: Session, clinic: int) -> None:
        made = [
            make_patient_in(
                db, clinic, given_name=self.NAMES[n % 7], family_name=self.FAMILIES[n % 6]
            )
            for n in range(42)
        ]
        for query in ("ma", "ma lund", "lund", "mar mar", "o"):
            expected = sorted(
                (p for p in made if _matches_by_plain_rule(p, query)),
                key=lambda p: (p.search_text, p.id),
            )
            assert expected, query
            for limit in (1, 4, 50):
                assert every_page(db, clinic, query, limit) == [p.id for p in expected], query

    def test_archived_patients_are_skipped_even_when_they_fill_several_batches(
        self, db: Session, clinic: int
    ) -> None:
        made = [
            make_patient_in(db, clinic, given_name=f"G{n:02d}", family_name="Archivtest")
            for n in range(30)
        ]
        for patient in made[:26]:
            patient_service.archive_patient(
                db,
                actor=system_actor(clinic),
                patient_id=patient.id,
                expected_version=patient.version,
                reason="duplicate record",
            )
        first = search(db, clinic, "archivtest", limit=2)
        assert given_names(first) == ["G26", "G27"]
        assert first.next_after is not None
        second = search(db, clinic, "archivtest", limit=2, after=first.next_after)
        assert given_names(second) == ["G28", "G29"]
        assert second.next_after is None
        assert every_page(db, clinic, "archivtest", 4, include_archived=True) == [
            p.id for p in made
        ]


class TestTheIndexFollowsThePatient:
    def test_a_new_patient_has_one_row_per_term_keyed_by_its_list_order(
        self, db: Session, clinic: int
    ) -> None:
        patient = make_patient_in(
            db, clinic, given_name="Jean-Luc", family_name="Smith-Jones", mrn="RX-7"
        )
        rows = db.execute(
            select(
                PatientSearchTermRecord.clinic_id,
                PatientSearchTermRecord.term,
                PatientSearchTermRecord.sort_key,
            ).where(PatientSearchTermRecord.patient_id == patient.id)
        ).all()
        terms = {"smith-jones", "smith", "jones", "jean-luc", "jean", "luc", "rx-7", "rx", "7"}
        assert sorted(rows) == sorted((clinic, t, "smith-jones jean-luc rx-7") for t in terms)

    def test_a_renamed_patient_is_found_by_the_new_name_only_and_sorted_by_it(
        self, db: Session, clinic: int
    ) -> None:
        ada = make_patient_in(db, clinic, given_name="Ada", family_name="Aalto", mrn="RX-1")
        make_patient_in(db, clinic, given_name="Ben", family_name="Berg", mrn="RX-2")
        assert given_names(search(db, clinic, "rx")) == ["Ada", "Ben"]
        patient_service.update_patient(
            db,
            actor=system_actor(clinic),
            patient_id=ada.id,
            expected_version=ada.version,
            changes={"family_name": "Zorn", "mrn": "RX-9"},
            today=date.today(),
        )
        assert search(db, clinic, "aalto").items == ()
        assert search(db, clinic, "rx-1").items == ()
        assert given_names(search(db, clinic, "zorn")) == ["Ada"]
        assert given_names(search(db, clinic, "rx-9")) == ["Ada"]
        assert given_names(search(db, clinic, "rx")) == ["Ben", "Ada"]

    def test_another_clinics_patients_are_never_candidates(self, db: Session, clinic: int) -> None:
        other = make_clinic(db)
        ours = make_patient_in(db, clinic, family_name="Zwillingsuche", mrn="TWIN-1")
        theirs = make_patient_in(db, other, family_name="Zwillingsuche", mrn="TWIN-1")
        assert [p.id for p in search(db, clinic, "zwilling twin-1").items] == [ours.id]
        assert [p.id for p in search(db, other, "zwilling twin-1").items] == [theirs.id]


class TestQueryWords:
    @pytest.mark.parametrize(
        ("query", "words"),
        [
            ("Anna  NGUYỄN", ["anna", "nguyen"]),
            ("ann anna an", ["anna"]),  # "ann" and "an" find nothing "anna" does not
            ("Straße", ["strasse"]),
            ("\U0010ffff", []),  # the range's upper bound is never a term or a query
            ("x" * 150, ["x" * patient_search.MAX_TERM_LENGTH]),
        ],
    )
    def test_queries_are_normalised_like_the_terms(self, query: str, words: list[str]) -> None:
        assert patient_search.query_words(query) == words

    def test_an_overlong_word_still_finds_its_patient(self, db: Session, clinic: int) -> None:
        family = "Q" * 100
        patient = make_patient_in(db, clinic, family_name=family)
        assert [p.id for p in search(db, clinic, family.lower() + "q").items] == [patient.id]


class TestTheDatabaseUsesTheIndexes:
    def test_a_word_is_an_index_range_over_terms_and_no_patient_is_scanned(
        self, db: Session, clinic: int
    ) -> None:
        plan = _plan(db, patient_search.candidates(clinic, ["ngu", "anna"], after=None, limit=21))
        if db.get_bind().dialect.name == "sqlite":
            ranges = re.findall(
                r"SEARCH patient_search_term USING COVERING INDEX \S+ \(([^)]*)\)", plan
            )
            assert ranges == ["clinic_id=? AND term>? AND term<?"] * 2, plan
            assert "SCAN" not in plan, plan
        else:
            assert "pk_patient_search_term" in plan, plan
            assert "Seq Scan" not in plan, plan

    def test_the_unfiltered_list_walks_the_clinic_index_in_order(
        self, db: Session, clinic: int
    ) -> None:
        query = (
            select(PatientRecord)
            .where(PatientRecord.clinic_id == clinic, PatientRecord.archived_at.is_(None))
            .order_by(PatientRecord.search_text, PatientRecord.id)
            .limit(21)
        )
        plan = _plan(db, query, without_sort=True)
        assert "ix_patient_clinic_search_text" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
        assert "Sort" not in plan, plan

    def test_terms_compare_bytewise_on_every_database(self, db: Session, clinic: int) -> None:
        """A prefix range needs "o'b" <= "o'brien" < "o'b" + U+10FFFF in the column's
        collation; PostgreSQL's linguistic collations ignore the apostrophe and weigh
        unassigned code points as they like, so the column is COLLATE "C" there."""
        liam = make_patient_in(db, clinic, given_name="Liam", family_name="O'Brien")
        term = PatientSearchTermRecord.term
        found = db.scalars(
            select(term).where(
                PatientSearchTermRecord.patient_id == liam.id,
                term >= "o'b",
                term < "o'b" + patient_search.TOP,
            )
        ).all()
        assert found == ["o'brien"]
        if db.get_bind().dialect.name == "postgresql":
            collation = db.scalar(
                text(
                    "SELECT collation_name FROM information_schema.columns "
                    "WHERE table_name = 'patient_search_term' AND column_name = 'term' "
                    "AND table_schema = current_schema()"
                )
            )
            assert collation == "C"


def _matches_by_plain_rule(patient: PatientRecord, query: str) -> bool:
    """Plain-ASCII names: every query word begins a word or a hyphenated part."""
    fields = f"{patient.family_name} {patient.given_name} {patient.mrn}".lower()
    words = set(fields.split()) | set(re.split(r"[\s-]+", fields))
    return all(any(w.startswith(q) for w in words) for q in query.lower().split())


def _plan(db: Session, query: object, *, without_sort: bool = False) -> str:
    """SQLite's query plan; PostgreSQL's with the alternatives its cost model prefers for
    near-empty test tables switched off, to show which indexes can serve the query."""
    bind = db.get_bind()
    compiled = query.compile(bind, compile_kwargs={"literal_binds": True})  # type: ignore[attr-defined]
    if bind.dialect.name == "sqlite":
        rows = db.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
        return "\n".join(str(row[-1]) for row in rows)
    db.execute(text("SET LOCAL enable_seqscan = off"))
    if without_sort:
        db.execute(text("SET LOCAL enable_sort = off"))
    return "\n".join(row[0] for row in db.execute(text(f"EXPLAIN {compiled}")))
