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
            event = by_uid[
                f"plan-{stored.id}-v1-step-{step['index']}-{admin['time_of_day']}@titrate"
            ]
            _assert_when(event, step, admin["time_of_day"])
            assert event.walk("VALARM"), "every dose event reminds"
            assert f" {exact(admin['dose']['value']):f} {stored.plan['unit']}" in str(
                event["SUMMARY"]
            )


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
            if str(e["UID"]).startswith(f"plan-{plan.id}-v1-{kind}-")
        ]
        assert (event.decoded("DTSTART"), event.decoded("DTEND")) == (day, day + timedelta(days=1))
        [alarm] = event.walk("VALARM")
        assert alarm.decoded("TRIGGER") == -timedelta(hours=16), "08:00 the day before"
        assert plan.plan["milestones"][0]["text"] in str(event["DESCRIPTION"])


def test_an_intrathecal_plan_gets_no_invented_refill_or_alarm_dates(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "itb_titration")
    assert plan.plan["milestones"] == []  # a stored plan holds no refill or alarm date
    calendar, _ = fetch_calendar(client, api_headers, plan.id)
    events = calendar.walk("VEVENT")
    assert len(events) == len(plan.steps)
    assert [str(e["SUMMARY"]) for e in events][:2] == [
        "Intrathecal baclofen pump 150 mcg/day", "Intrathecal baclofen pump 165 mcg/day",
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


def test_a_superseded_version_is_cancelled_without_reminders(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "adult_oral_titration")
    revision = {
        "plan_type": "oral_titration", "indication": "multiple_sclerosis",
        "start_date": "2026-12-01", "target_daily_dose": {"value": 45, "unit": "mg"},
        "reason": "drowsy at 45 mg/day",
    }  # fmt: skip
    headers = {**api_headers, "If-Match": '"1"'}
    assert (
        client.post(f"/api/v1/plans/{plan.id}/versions", json=revision, headers=headers).status_code
        == 201
    )
    old, _ = fetch_calendar(client, api_headers, plan.id, "?version=1")
    new, _ = fetch_calendar(client, api_headers, plan.id)
    for event in old.walk("VEVENT"):
        assert str(event["STATUS"]) == "CANCELLED"
        assert str(event["SUMMARY"]).startswith("SUPERSEDED, do not use: ")
        assert not event.walk("VALARM")
        assert "-v1-" in str(event["UID"])
    assert {str(e["STATUS"]) for e in new.walk("VEVENT")} == {"CONFIRMED"}
    assert all("-v2-" in str(e["UID"]) for e in new.walk("VEVENT"))
    daily = [exact(s["daily_dose"]["value"]) for s in plan.steps]
    assert daily == [Decimal(15), Decimal(30), Decimal(45), Decimal(60)]


def test_the_same_version_exports_the_same_uids_twice(
    client: TestClient, api_headers: dict[str, str], db: Session
) -> None:
    plan = store_plan(client, api_headers, db, "itb_screening")
    first, _ = fetch_calendar(client, api_headers, plan.id)
    second, _ = fetch_calendar(client, api_headers, plan.id)
    assert [str(e["UID"]) for e in first.walk("VEVENT")] == [
        str(e["UID"]) for e in second.walk("VEVENT")
    ]
    assert [str(e["SUMMARY"]) for e in first.walk("VEVENT")] == [
        "Intrathecal baclofen 50 mcg bolus (1 mL of 50 mcg/mL intrathecal solution)",
        "Intrathecal baclofen 75 mcg bolus (1.5 mL of 50 mcg/mL intrathecal solution)",
        "Intrathecal baclofen 100 mcg bolus (2 mL of 50 mcg/mL intrathecal solution)",
    ]
