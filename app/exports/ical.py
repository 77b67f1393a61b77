"""Stored plans as an RFC 5545 calendar, built with the `icalendar` package (API.md §5.3).

One VEVENT per dose time per step: the first dose at the clinic's clock time for that dose
time, repeated by a daily RRULE with COUNT = the step's days. A rule keeps the file small (a
six-week plan is a dozen events, not hundreds), and COUNT, unlike UNTIL, needs no UTC
conversion and reads the same in every client. Pump (continuous) steps are all-day events,
since a rate is not taken at a time; milestones (review, stop, re-evaluation) and the pump's
refill and alarm dates, when they are known, are all-day events too.

Versions replace each other in the patient's calendar: a UID names the plan, the step and the
dose time, never the version, so the same dose time keeps its UID across revisions, and the
revision's file raises SEQUENCE (the plan's lock version, which every revision and change of
state raises). An event an earlier version had and this one has not is listed as CANCELLED.
Importing the current file over an older one therefore leaves exactly the current schedule
(RFC 5546 §2.1.5: the higher SEQUENCE wins).

Calendars leak: no event names the patient, and the MRN and birth date are not in the file
either. A superseded, discontinued or held plan exports its events as CANCELLED or
TENTATIVE, without reminders. Words are in the patient's language (`?lang=` overrides it)
through the print catalogues; units and the drug name are never translated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.support import Translations
from icalendar import Alarm, Calendar, Event, Timezone

from app.config import Settings
from app.db.models import PlanVersionRecord
from app.exports.schedule import Milestone, Step, read_plan
from app.printing.doses import dose_text, per_day_text, take_text
from app.printing.i18n import N_, translations
from app.printing.numbers import format_long_date
from app.services.plan_exports import ExportSource

ICS_MEDIA_TYPE = "text/calendar; charset=utf-8"
PRODID = "-//Titrate//Baclofen plan export//EN"
DOSE_EVENT_MINUTES = 15
_MILESTONE_SUMMARIES = {
    "review": N_("review of the plan"),
    "stop": N_("taper complete, no more doses"),
    "reevaluation": N_("re-evaluation"),
}
_PUMP_DATE_SUMMARIES = {
    "alarm": N_("pump alarm expected: the reservoir runs low"),
    "refill_window": N_("pump refill due"),
}
# Days before the first and after the last event the time-zone definition also covers, so
# a reminder the day before and a client's view around the plan see the right offsets.
_ZONE_MARGIN = timedelta(days=31)


@dataclass(frozen=True, slots=True)
class CalendarOptions:
    zone: ZoneInfo
    clock: Mapping[str, time]  # morning, midday, evening, night, bolus
    reminder: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> CalendarOptions:
        clock = {
            "morning": settings.calendar_morning_time,
            "midday": settings.calendar_midday_time,
            "evening": settings.calendar_evening_time,
            "night": settings.calendar_night_time,
            "bolus": settings.calendar_bolus_time,
        }
        return cls(
            zone=ZoneInfo(settings.clinic_timezone),
            clock={name: value.replace(tzinfo=None) for name, value in clock.items()},
            reminder=timedelta(minutes=settings.calendar_reminder_minutes),
        )


@dataclass(frozen=True, slots=True)
class PumpDate:
    """A date of the pump the patient must act on: the alarm, or the refill window."""

    kind: str  # alarm | refill_window
    start: date
    end: date  # the same day for the alarm


@dataclass(frozen=True, slots=True)
class _Context:
    source: ExportSource
    options: CalendarOptions
    now: datetime
    language: str
    t: Translations
    intrathecal: bool

    @property
    def drug(self) -> str:
        return self.t.gettext("Intrathecal baclofen") if self.intrathecal else "Baclofen"

    @property
    def state(self) -> tuple[str, str]:
        """(STATUS, summary prefix): only the current version of a live plan reminds."""
        t = self.t
        if self.source.superseded:
            return "CANCELLED", t.gettext("SUPERSEDED, do not use:") + " "
        if self.source.plan.state == "discontinued":
            return "CANCELLED", t.gettext("DISCONTINUED, do not use:") + " "
        if self.source.plan.state == "on_hold":
            return "TENTATIVE", t.gettext("ON HOLD:") + " "
        return "CONFIRMED", ""

    @property
    def sequence(self) -> int:
        """The plan's lock version rises with every revision and change of state; an older
        version's own file keeps the lowest number, so it never overrides a newer import."""
        if self.source.superseded:
            return 0
        return max(self.source.plan.lock_version - 1, 0)

    def uid(self, part: str) -> str:
        return f"plan-{self.source.plan.id}-{part}@titrate"


def build_calendar(
    sources: Sequence[ExportSource],
    options: CalendarOptions,
    *,
    now: datetime,
    language: str,
    name: str,
    pump_dates: Mapping[int, Sequence[PumpDate]] | None = None,
) -> bytes:
    """The calendar of one or more plans (a patient's feed holds each of their plans) as
    RFC 5545 bytes (UTF-8, CRLF line ends, folded lines). `pump_dates` by plan id."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", options.zone.key)
    events: list[Event] = []
    for source in sources:
        plan = read_plan(source.version.plan_json)
        context = _Context(
            source, options, now, language, translations(language), plan.is_intrathecal
        )
        events += _plan_events(context, (pump_dates or {}).get(source.plan.id, ()))
    # Always the clinic's zone, even when only all-day events reference none.
    first, last = _span(events, today=now.date())
    calendar.add_component(
        Timezone.from_tzinfo(options.zone, first_date=first - _ZONE_MARGIN,
                             last_date=last + _ZONE_MARGIN)
    )  # fmt: skip
    for event in events:
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def _plan_events(context: _Context, pump_dates: Sequence[PumpDate]) -> list[Event]:
    current = _version_events(context, context.source.version, context.state)
    removed: dict[str, Event] = {}
    cancelled = ("CANCELLED", context.t.gettext("CANCELLED, no longer in the plan:") + " ")
    for earlier in context.source.earlier:  # oldest first: the latest form of each UID wins
        for event in _version_events(context, earlier, cancelled):
            removed[str(event["UID"])] = event
    uids = {str(event["UID"]) for event in current}
    events = current + [e for uid, e in removed.items() if uid not in uids]
    events += [_pump_event(context, number, d) for number, d in enumerate(pump_dates, 1)]
    return events


def _version_events(
    context: _Context, version: PlanVersionRecord, state: tuple[str, str]
) -> list[Event]:
    plan = read_plan(version.plan_json)
    raw_steps = {s["index"]: s for s in json.loads(version.plan_json)["steps"]}
    events = []
    for step in plan.steps:
        raw_admins = {a["time_of_day"]: a for a in raw_steps[step.index]["administrations"]}
        for admin in step.administrations:
            raw = raw_admins[admin.time_of_day]
            events.append(_dose_event(context, version, state, step, raw))
    seen: dict[str, int] = {}
    for milestone in plan.milestones:
        seen[milestone.kind] = seen.get(milestone.kind, 0) + 1
        events.append(_milestone_event(context, version, state, milestone, seen[milestone.kind]))
    return events


def _span(events: Sequence[Event], *, today: date) -> tuple[date, date]:
    days = []
    for event in events:
        start = event.decoded("dtstart")
        end = event.decoded("dtend")
        days += [start if type(start) is date else start.date()]
        days += [end if type(end) is date else end.date()]
        if "rrule" in event:  # the last repetition of a daily rule
            rule: Any = event["rrule"]
            count = rule["COUNT"]
            days.append(
                days[-1] + timedelta(days=int(count[0] if isinstance(count, list) else count) - 1)
            )
    if not days:  # a plan without steps (blocked) still names the clinic's zone
        days = [today]
    return min(days), max(days)


def _dose_event(
    context: _Context,
    version: PlanVersionRecord,
    state: tuple[str, str],
    step: Step,
    admin: dict[str, Any],
) -> Event:
    time_of_day = admin["time_of_day"]
    summary = state[1] + _dose_summary(context, admin)
    event = _event(context, version, state, f"step-{step.index}-{time_of_day}", summary)
    if time_of_day == "continuous":
        event.add("dtstart", step.start)
        event.add("dtend", step.end + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        _remind_day_before(context, state, event, summary)
    else:
        start = datetime.combine(step.start, context.options.clock[time_of_day])
        start = start.replace(tzinfo=context.options.zone)
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(minutes=DOSE_EVENT_MINUTES))
        if step.days > 1:
            event.add("rrule", {"freq": "daily", "count": step.days})
        _remind(state, event, summary, -context.options.reminder)
    event.add("description", _dose_description(context, version, step))
    return event


def _dose_summary(context: _Context, admin: dict[str, Any]) -> str:
    t, language = context.t, context.language
    dose = dose_text(admin["dose"], language)
    take = take_text(admin, language, t)
    if admin["time_of_day"] == "continuous":
        return t.gettext("%(drug)s pump: %(rate)s") % {
            "drug": context.drug,
            "rate": per_day_text(admin["dose"], language, t),
        }
    if admin["time_of_day"] == "bolus":
        return t.gettext("%(drug)s %(dose)s bolus (%(take)s)") % {
            "drug": context.drug, "dose": dose, "take": take,
        }  # fmt: skip
    return t.gettext("%(drug)s %(dose)s (%(take)s)") % {
        "drug": context.drug, "dose": dose, "take": take,
    }  # fmt: skip


def _dose_description(context: _Context, version: PlanVersionRecord, step: Step) -> str:
    t, language = context.t, context.language
    daily = {"value": str(step.daily.value), "unit": step.daily.unit}
    line = t.gettext("Step %(step)s: %(daily)s, %(start)s to %(end)s.") % {
        "step": step.index,
        "daily": per_day_text(daily, language, t),
        "start": format_long_date(step.start, language),
        "end": format_long_date(step.end, language),
    }
    warning = (
        t.gettext("Never let the pump run empty: keep every refill appointment.")
        if context.intrathecal
        else t.gettext("Take with food. Do not stop baclofen suddenly.")
    )
    return f"{line} {warning}\n{_provenance(context, version)}"


def _milestone_event(
    context: _Context,
    version: PlanVersionRecord,
    state: tuple[str, str],
    milestone: Milestone,
    ordinal: int,
) -> Event:
    label = context.t.gettext(_MILESTONE_SUMMARIES.get(milestone.kind, milestone.kind))
    summary = f"{state[1]}{context.drug}: {label}"
    event = _event(context, version, state, f"{milestone.kind}-{ordinal}", summary)
    event.add("dtstart", milestone.on)
    event.add("dtend", milestone.on + timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    event.add("description", _provenance(context, version))
    _remind_day_before(context, state, event, summary)
    return event


def _pump_event(context: _Context, number: int, pump_date: PumpDate) -> Event:
    state = context.state
    label = context.t.gettext(_PUMP_DATE_SUMMARIES[pump_date.kind])
    summary = f"{state[1]}{context.drug}: {label}"
    version = context.source.version
    event = _event(context, version, state, f"pump-{pump_date.kind}-{number}", summary)
    event.add("dtstart", pump_date.start)
    event.add("dtend", pump_date.end + timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    event.add("description", _provenance(context, version))
    _remind_day_before(context, state, event, summary)
    return event


def _event(
    context: _Context,
    version: PlanVersionRecord,
    state: tuple[str, str],
    part: str,
    summary: str,
) -> Event:
    event = Event()
    event.add("uid", context.uid(part))
    event.add("dtstamp", context.now)
    event.add("created", version.created_at)
    event.add("sequence", context.sequence)
    event.add("status", state[0])
    event.add("summary", summary)
    event.add("categories", ["Medication"])
    return event


def _remind(state: tuple[str, str], event: Event, summary: str, trigger: timedelta) -> None:
    if state[0] != "CONFIRMED":
        return  # a reminder to take a dose that must not be taken is worse than none
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary)
    alarm.add("trigger", trigger)
    event.add_component(alarm)


def _remind_day_before(
    context: _Context, state: tuple[str, str], event: Event, summary: str
) -> None:
    """All-day events remind at the morning clock time of the day before."""
    morning = context.options.clock["morning"]
    _remind(state, event, summary, -(timedelta(days=1) - _as_delta(morning)))


def _as_delta(clock: time) -> timedelta:
    return timedelta(hours=clock.hour, minutes=clock.minute)


def _provenance(context: _Context, version: PlanVersionRecord) -> str:
    return context.t.gettext("Titrate plan %(plan)s, version %(version)s (content %(hash)s).") % {
        "plan": context.source.plan.id,
        "version": version.number,
        "hash": version.content_sha256[:12],
    }
