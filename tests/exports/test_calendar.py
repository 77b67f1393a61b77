"""The iCalendar export (API.md §4): every file parsed back with `icalendar`."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar, Event
from sqlalchemy.orm import Session

from tests.exports.conftest import StoredPlan, exact, store_plan

CLOCK = {"morning": time(8), "midday": time(12), "evening": time(18), "night": time(22),
         "bolus": time(9)}  # fmt: skip


def fetch_calendar(
    client: TestClient, headers: dict[str, str], plan_id: int, query: str = ""
) -> tuple[Calendar, bytes]:
    response = client.get(f"/api/v1/plans/{plan_id}/calendar.ics{query}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content), response.content


def dose_events(calendar: Calendar) -> list[Event]:
    return [e for e in calendar.walk("VEVENT") if "-step-" in str(e["UID"])]


def test_every_kind_of_plan_gives_one_event_per_dose_time_per_step_in_the_clinic_zone(
    client: TestClient, api_headers: dict[str, str], stored: StoredPlan
) -> None:
    calendar, _ = fetch_calendar(client, api_headers, stored.id)
    assert (str(calendar["VERSION"]), str(calendar["PRODID"])) == (
        "2.0", "-//Titrate//Baclofen plan export//EN",
    )  # fmt: skip
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    events = dose_events(calendar)
    assert len(events) == sum(len(s["administrations"]) for s in stored.steps)
    by_uid = {str(e["UID"]): e for e in events}
    assert len(by_uid) == len(events)
    for step in stored.steps:
        for admin in step["administrations"]:
            event = by_uid[f"plan-{stored.id}-step-{step['index']}-{admin['time_of_day']}@titrate"]
            _assert_when(event, step, admin["time_of_day"])
            assert event.walk("VALARM"), "every dose event reminds"
            dose = f"{exact(admin['dose']['value']):f}\u00a0{stored.plan['unit']}"
            assert f" {dose}" in str(event["SUMMARY"]) or f" {dose} a day" in str(event["SUMMARY"])


def _assert_when(event: Event, step: dict[str, str], time_of_day: str) -> None:
    start, end = date.fromisoformat(step["start_date"]), date.fromisoformat(step["end_date"])
    days = (end - start).days + 1
    first = event.decoded("DTSTART")
    if time_of_day == "continuous":  # a pump rate is all day, every day of the step
        assert (first, event.decoded("DTEND")) == (start, end + timedelta(days=1))
        return
    assert isinstance(first, datetime)
    assert str(first.tzinfo) == "Europe/Berlin"
    assert (first.date(), first.time()) == (start, CLOCK[time_of_day])
    if days == 1:
        assert "RRULE" not in event
        return
    rule = event["RRULE"]
    assert (rule["FREQ"], rule["COUNT"]) == (["DAILY"], [days])
    occurrences = list(rrulestr(event["RRULE"].to_ical().decode(), dtstart=first))
    assert occurrences[-1].date() == end
    assert {o.time() for o in occurrences} == {CLOCK[time_of_day]}


def test_the_file_is_rfc5545_text_and_names_no_patient(
    client: TestClient, api_headers: dict[str, str], stored: StoredPlan
) -> None:
    _, raw = fetch_calendar(client, api_headers, stored.id)
    assert raw.startswith(b"BEGIN:VCALENDAR\r\n")
    assert raw.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b""), "every line ends with CRLF"
    assert all(len(line) <= 75 for line in raw.split(b"\r\n")), "long lines are folded"
    text = raw.decode()
    for private in (
        stored.patient["family_name"],
        stored.patient["given_name"],
        stored.patient["mrn"],
    ):
        assert private not in text
    other_unit = "mg" if stored.is_itb else "mcg"
    assert not re.search(rf"\b{other_unit}\b", text)


def test_review_and_stop_dates_are_all_day_events_with_a_reminder(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    titration = store_plan(client, api_headers, db, "adult_oral_titration")
    taper = store_plan(client, api_headers, db, "oral_taper")
    for plan, kind, day in (
        (titration, "review", date(2027, 1, 12)),
        (taper, "stop", date(2026, 12, 16)),
    ):
        calendar, _ = fetch_calendar(client, api_headers, plan.id)
        [event] = [
            e
            for e in calendar.walk("VEVENT")
            if str(e["UID"]) == f"plan-{plan.id}-{kind}-1@titrate"
        ]
        assert (event.decoded("DTSTART"), event.decoded("DTEND")) == (day, day + timedelta(days=1))
        [alarm] = event.walk("VALARM")
        assert alarm.decoded("TRIGGER") == -timedelta(hours=16), "08:00 the day before"
        label = {"review": "review of the plan", "stop": "taper complete, no more doses"}[kind]
        assert str(event["SUMMARY"]) == f"Baclofen: {label}"


def test_an_intrathecal_plan_gets_no_invented_refill_or_alarm_dates(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "itb_titration")
    assert plan.plan["milestones"] == []  # a stored plan holds no refill or alarm date
    calendar, _ = fetch_calendar(client, api_headers, plan.id)
    events = calendar.walk("VEVENT")
    assert len(events) == len(plan.steps)
    assert [str(e["SUMMARY"]) for e in events][:2] == [
        "Intrathecal baclofen pump: 150\u00a0mcg a day",
        "Intrathecal baclofen pump: 165\u00a0mcg a day",
    ]  # fmt: skip


def test_clock_times_zone_and_reminder_come_from_the_settings(
    client: TestClient, app: FastAPI, api_headers: dict[str, str], db: Session
) -> None:
    app.state.settings = app.state.settings.model_copy(update={
        "clinic_timezone": "America/Chicago", "calendar_morning_time": time(7, 30),
        "calendar_night_time": time(21, 0), "calendar_reminder_minutes": 5,
    })  # fmt: skip
    plan = store_plan(client, api_headers, db, "child_on_solution")
    calendar, _ = fetch_calendar(client, api_headers, plan.id)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["America/Chicago"]
    starts = {str(e["UID"]).rsplit("-", 1)[1]: e.decoded("DTSTART") for e in dose_events(calendar)}
    assert starts["morning@titrate"].time() == time(7, 30)
    assert starts["night@titrate"].time() == time(21, 0)
    assert str(starts["night@titrate"].tzinfo) == "America/Chicago"
    alarms = [a.decoded("TRIGGER") for e in dose_events(calendar) for a in e.walk("VALARM")]
    assert set(alarms) == {-timedelta(minutes=5)}


def test_the_clock_time_holds_across_the_change_to_summer_time(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "adult_oral_titration", start_date="2027-03-26")
    calendar, _ = fetch_calendar(client, api_headers, plan.id)
    [event] = [
        e for e in dose_events(calendar) if str(e["UID"]).endswith("-step-1-morning@titrate")
    ]
    days = list(rrulestr(event["RRULE"].to_ical().decode(), dtstart=event.decoded("DTSTART")))
    assert [d.time() for d in days] == [time(8)] * 3
    assert [d.utcoffset() for d in days] == [
        timedelta(hours=1),
        timedelta(hours=1),
        timedelta(hours=2),
    ]
    assert days[0].tzinfo == ZoneInfo("Europe/Berlin")


def _revise(client: TestClient, api_headers: dict[str, str], plan_id: int) -> None:
    revision = {
        "plan_type": "oral_titration", "indication": "multiple_sclerosis",
        "start_date": "2026-12-01", "target_daily_dose": {"value": 45, "unit": "mg"},
        "reason": "drowsy at 45 mg/day",
    }  # fmt: skip
    headers = {**api_headers, "If-Match": '"1"'}
    response = client.post(f"/api/v1/plans/{plan_id}/versions", json=revision, headers=headers)
    assert response.status_code == 201, response.text


def test_a_superseded_version_is_cancelled_without_reminders(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    _revise(client, api_headers, plan.id)
    old, _ = fetch_calendar(client, api_headers, plan.id, "?version=1")
    for event in old.walk("VEVENT"):
        assert str(event["STATUS"]) == "CANCELLED"
        assert str(event["SUMMARY"]).startswith("SUPERSEDED, do not use: ")
        assert not event.walk("VALARM")
        assert event["SEQUENCE"] == 0, "an old file never overrides a newer import"
    daily = [exact(s["daily_dose"]["value"]) for s in plan.steps]
    assert daily == [Decimal(15), Decimal(30), Decimal(45), Decimal(60)]


def test_a_revision_keeps_the_uids_raises_the_sequence_and_cancels_what_it_removed(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    first, _ = fetch_calendar(client, api_headers, plan.id)
    _revise(client, api_headers, plan.id)
    second, _ = fetch_calendar(client, api_headers, plan.id)
    before = {str(e["UID"]): e for e in first.walk("VEVENT")}
    after = {str(e["UID"]): e for e in second.walk("VEVENT")}
    assert set(before) == set(after), "every earlier event is either kept or cancelled"
    assert {e["SEQUENCE"] for e in after.values()} == {1}
    assert {e["SEQUENCE"] for e in before.values()} == {0}
    removed = {uid for uid, e in after.items() if str(e["STATUS"]) == "CANCELLED"}
    # Version 2 stops at 45 mg/day: the 60 mg step (4) and its review move or go.
    assert removed == {f"plan-{plan.id}-step-4-{t}@titrate" for t in ("morning", "midday",
                                                                         "evening")}  # fmt: skip
    for uid in removed:
        assert not after[uid].walk("VALARM")
        assert str(after[uid]["SUMMARY"]).startswith("CANCELLED, no longer in the plan: ")
    kept = [e for uid, e in after.items() if uid not in removed]
    assert {str(e["STATUS"]) for e in kept} == {"CONFIRMED"}


def test_the_events_are_worded_in_the_patients_language_or_the_one_asked_for(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    english, _ = fetch_calendar(client, api_headers, plan.id)
    german, _ = fetch_calendar(client, api_headers, plan.id, "?lang=de")
    vietnamese, _ = fetch_calendar(client, api_headers, plan.id, "?lang=vi")
    uid = f"plan-{plan.id}-step-1-morning@titrate"
    summaries = {
        name: next(str(e["SUMMARY"]) for e in cal.walk("VEVENT") if str(e["UID"]) == uid)
        for name, cal in (("en", english), ("de", german), ("vi", vietnamese))
    }
    assert summaries["en"] == "Baclofen 5\u00a0mg (1 tablet of 5\u00a0mg)"
    assert summaries["de"] == "Baclofen 5\u00a0mg (1 Tablette zu 5\u00a0mg)"
    assert summaries["vi"].startswith("Baclofen 5\u00a0mg (")
    assert len(set(summaries.values())) == 3
    refused = client.get(f"/api/v1/plans/{plan.id}/calendar.ics?lang=fr", headers=api_headers)
    assert refused.status_code == 422


def test_the_time_zone_definition_covers_every_event(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "oral_taper", start_date="2027-10-20")
    calendar, _ = fetch_calendar(client, api_headers, plan.id)
    [zone] = calendar.walk("VTIMEZONE")
    starts = [o.decoded("DTSTART").date() for o in zone.subcomponents]
    assert starts, "observances"
    days = [e.decoded("DTSTART") for e in calendar.walk("VEVENT")]
    first_day = min(d.date() if isinstance(d, datetime) else d for d in days)
    assert min(starts) <= first_day
    # The taper crosses the end of summer time (31 Oct 2027): both offsets are defined.
    names = {o.name for o in zone.subcomponents}
    assert names == {"STANDARD", "DAYLIGHT"}


def test_the_same_version_exports_the_same_uids_twice(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "itb_screening")
    first, _ = fetch_calendar(client, api_headers, plan.id)
    second, _ = fetch_calendar(client, api_headers, plan.id)
    assert [str(e["UID"]) for e in first.walk("VEVENT")] == [
        str(e["UID"]) for e in second.walk("VEVENT")
    ]
    nbsp = "\u00a0"
    assert [str(e["SUMMARY"]).replace(nbsp, " ") for e in first.walk("VEVENT")] == [
        "Intrathecal baclofen 50 mcg bolus (1 mL of 50 mcg/mL, by lumbar puncture)",
        "Intrathecal baclofen 75 mcg bolus (1.5 mL of 50 mcg/mL, by lumbar puncture)",
        "Intrathecal baclofen 100 mcg bolus (2 mL of 50 mcg/mL, by lumbar puncture)",
    ]


def test_pump_refill_and_alarm_dates_are_all_day_events_with_a_reminder(
    client: TestClient, app: FastAPI, api_headers: dict[str, str], db: Session
) -> None:
    """The calendar takes the pump's dates when they are known (recorded refills feed them);
    a stored plan holds none, so the plain export has none (test above)."""
    from app.exports.ical import CalendarOptions, PumpDate, build_calendar
    from app.services.context import SYSTEM
    from app.services.plan_exports import read_plan_for_export

    plan = store_plan(client, api_headers, db, "itb_titration")
    source = read_plan_for_export(db, actor=SYSTEM, plan_id=plan.id, version=None,
                                  export_format="ical")  # fmt: skip
    dates = [PumpDate("alarm", date(2027, 1, 20), date(2027, 1, 20)),
             PumpDate("refill_window", date(2027, 1, 14), date(2027, 1, 16))]  # fmt: skip
    raw = build_calendar(
        [source], CalendarOptions.from_settings(app.state.settings), now=datetime(2026, 12, 1),
        language="de", name="test", pump_dates={plan.id: dates},
    )  # fmt: skip
    events = {str(e["UID"]): e for e in Calendar.from_ical(raw).walk("VEVENT")}
    alarm = events[f"plan-{plan.id}-pump-alarm-1@titrate"]
    window = events[f"plan-{plan.id}-pump-refill_window-2@titrate"]
    assert str(alarm["SUMMARY"]) == (
        "Intrathekales Baclofen: Pumpenalarm erwartet: das Reservoir wird knapp"
    )
    assert (window.decoded("DTSTART"), window.decoded("DTEND")) == (
        date(2027, 1, 14), date(2027, 1, 17),
    )  # fmt: skip
    assert [a.decoded("TRIGGER") for a in alarm.walk("VALARM")] == [-timedelta(hours=16)]
