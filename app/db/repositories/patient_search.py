"""Patient search by word prefix, through the patient_search_term index table.

Each word of a patient's family name, given name and MRN is stored once, normalised, in
`patient_search_term` (with the parts of hyphenated or apostrophe'd words, so "Jones" finds
"Smith-Jones"). A query matches a patient when every query word begins one of the patient's
terms: an index range per word (`term >= w AND term < w + TOP`), never a scan of every
patient, so search time follows the number of matches rather than the size of the clinic.

Normalising drops accents and case ("nguyen" finds "Nguyễn", "muller" finds "Müller"). The
migration that created the table carries a frozen copy of these rules for its backfill.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date

from sqlalchemy import CompoundSelect, delete, insert, intersect, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from app.db.models import PatientRecord, PatientSearchTermRecord

MAX_TERM_LENGTH = 100
# Above every character a term can hold: all strings that start with w sort below w + TOP
# (terms compare bytewise: BINARY on SQLite, COLLATE "C" on PostgreSQL).
TOP = "\U0010ffff"
_QUERY_SEPARATORS = re.compile(r"[,;]+")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_FIRST_DATE = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4})")
_PART_SEPARATORS = re.compile(r"[-'’./_]+")
# Letters that are not a base letter plus a mark, so NFKD leaves them alone.
_FOLDED = str.maketrans({"đ": "d", "ð": "d", "ø": "o", "ł": "l", "ħ": "h", "ı": "i", "þ": "th"})


def normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    unmarked = "".join(c for c in decomposed if not unicodedata.combining(c))
    # TOP must stay above every stored character, so it never appears in a term itself.
    return unmarked.casefold().translate(_FOLDED).replace(TOP, "")


def terms_for(*sources: str) -> set[str]:
    """The searchable terms of some names: each word, and each part of a compound word."""
    terms = set()
    for source in sources:
        for word in normalise(source).split():
            terms.add(word[:MAX_TERM_LENGTH])
            terms.update(part[:MAX_TERM_LENGTH] for part in _PART_SEPARATORS.split(word) if part)
    return terms


def patient_terms(record: PatientRecord) -> set[str]:
    return terms_for(record.family_name, record.given_name, record.mrn)


def query_words(text: str) -> list[str]:
    """The words a query must all find, without those another word already implies ("ann"
    is found wherever "anna" is). Commas and semicolons separate words, so the list's own
    "Family, Given" finds the patient."""
    words = {word[:MAX_TERM_LENGTH] for word in normalise(_QUERY_SEPARATORS.sub(" ", text)).split()}
    return sorted(w for w in words if not any(o != w and o.startswith(w) for o in words))


def split_query(text: str) -> tuple[str, date | None]:
    """The name/MRN part of a query and the birth date it names, if any: a word that is a
    date as pages show it (2026-11-22) or as German and Vietnamese write it (22.11.2026,
    22/11/2026). Other words are left for the name search."""
    birth_date = None
    rest = []
    for word in _QUERY_SEPARATORS.sub(" ", text).split():
        day = _as_date(word) if birth_date is None else None
        if day is None:
            rest.append(word)
        else:
            birth_date = day
    return " ".join(rest), birth_date


def _as_date(word: str) -> date | None:
    iso = _ISO_DATE.fullmatch(word)
    day_first = _DAY_FIRST_DATE.fullmatch(word)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        if day_first:
            return date(int(day_first[3]), int(day_first[2]), int(day_first[1]))
    except ValueError:  # 2026-02-30: not a date, so a word like any other
        return None
    return None


def replace_terms(session: Session, record: PatientRecord) -> None:
    """Store the record's current terms in place of the old ones, in the caller's transaction
    (after a flush: needs the id; after apply_facts: the sort key is its search_text)."""
    session.execute(
        delete(PatientSearchTermRecord).where(PatientSearchTermRecord.patient_id == record.id)
    )
    rows = [
        {
            "clinic_id": record.clinic_id,
            "term": term,
            "sort_key": record.search_text,
            "patient_id": record.id,
        }
        for term in sorted(patient_terms(record))
    ]
    if rows:
        session.execute(insert(PatientSearchTermRecord), rows)


def candidates(
    clinic_id: int | None, words: Sequence[str], *, after: tuple[str, int] | None, limit: int
) -> Select[str, int] | CompoundSelect[str, int]:
    """(sort_key, patient_id) of the first `limit` patients after `after`, in list order, with
    a term beginning each word: read from the term index alone (one range per word,
    intersected), so no patient row is touched until the page is known."""
    per_word = [_beginning(clinic_id, word, after) for word in words]
    if len(per_word) == 1:
        single = per_word[0].distinct()
        return single.order_by(*single.selected_columns).limit(limit)
    every = intersect(*per_word)
    return every.order_by(*every.selected_columns).limit(limit)


def _beginning(clinic_id: int | None, word: str, after: tuple[str, int] | None) -> Select[str, int]:
    term = PatientSearchTermRecord
    query = select(term.sort_key, term.patient_id).where(term.term >= word, term.term < word + TOP)
    if clinic_id is not None:
        query = query.where(term.clinic_id == clinic_id)
    if after is not None:
        query = query.where(tuple_(term.sort_key, term.patient_id) > tuple_(*after))
    return query
