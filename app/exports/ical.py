"""A stored plan version as an RFC 5545 calendar, built with the `icalendar` package.

One VEVENT per dose time per step: the first dose at the clinic's clock time for that dose
time, repeated by a daily RRULE with COUNT = the step's days. A rule keeps the file small (a
six-week plan is a dozen events, not hundreds), and COUNT, unlike UNTIL, needs no UTC
conversion and reads the same in every client. Pump (continuous) steps are all-day events,
since a rate is not taken at a time; milestones (review, stop, re-evaluation) are all-day
events too. Refill and alarm dates appear only if a plan holds them; stored plans do not
(the refill calculator's answer is not part of a plan), so none is invented.

Calendars leak: no event names the patient, and the MRN is not in the file either. UIDs are
stable (plan, version, step, dose time), and SEQUENCE follows the plan's lock version, so a
re-imported file replaces what an older import of the same version showed. A superseded,
discontinued or held plan exports its events as CANCELLED or TENTATIVE, without reminders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Timezone

from app.config import Settings
from app.exports.schedule import Administration, ExportPlan, Milestone, Step, read_plan
from app.services.plan_exports import ExportSource

ICS_MEDIA_TYPE = "text/calendar; charset=utf-8"
PRODID = "-//Titrate//Baclofen plan export//EN"
DOSE_EVENT_MINUTES = 15
_MILESTONE_SUMMARIES = {
    "review": "review of the plan",
    "stop": "taper complete, no more doses",
    "reevaluation": "re-evaluation",
}


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
class _Context:
    source: ExportSource
    plan: ExportPlan
    options: CalendarOptions
    now: datetime

    @property
    def drug(self) -> str:
        return "Intrathecal baclofen" if self.plan.is_intrathecal else "Baclofen"

    @property
    def state(self) -> tuple[str, str]:
        """(STATUS, summary prefix): only the current version of a live plan reminds."""
        if self.source.superseded:
            return "CANCELLED", "SUPERSEDED, do not use: "
        if self.source.plan.state == "discontinued":
            return "CANCELLED", "DISCONTINUED, do not use: "
        if self.source.plan.state == "on_hold":
            return "TENTATIVE", "ON HOLD: "
        return "CONFIRMED", ""

    def uid(self, part: str) -> str:
        return f"plan-{self.source.plan.id}-v{self.source.version.number}-{part}@titrate"


def build_calendar(source: ExportSource, options: CalendarOptions, *, now: datetime) -> bytes:
    """The calendar as RFC 5545 bytes (UTF-8, CRLF line ends, folded lines)."""
    context = _Context(source, read_plan(source.version.plan_json), options, now)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"Baclofen plan {source.plan.id} v{source.version.number}")
    calendar.add("x-wr-timezone", options.zone.key)
    # Always the clinic's zone, even when only all-day events (pump rates) reference none.
    first, last = _span(context.plan, today=now.date())
    calendar.add_component(Timezone.from_tzinfo(options.zone, first_date=first, last_date=last))
    for step in context.plan.steps:
        for admin in step.administrations:
            calendar.add_component(_dose_event(context, step, admin))
    for milestone in context.plan.milestones:
        calendar.add_component(_milestone_event(context, milestone))
    return bytes(calendar.to_ical())


def _span(plan: ExportPlan, *, today: date) -> tuple[date, date]:
    days = [s.start for s in plan.steps] + [s.end for s in plan.steps]
    days += [m.on for m in plan.milestones]
    if not days:  # a plan without steps (blocked) still names the clinic's zone
        days = [today]
    # A year either side gives clients the offsets around every event, both DST rules.
    return min(days) - timedelta(days=366), max(days) + timedelta(days=366)


def _dose_event(context: _Context, step: Step, admin: Administration) -> Event:
    summary = _dose_summary(context, admin)
    event = _event(context, f"step-{step.index}-{admin.time_of_day}", summary)
    if admin.time_of_day == "continuous":
        event.add("dtstart", step.start)
        event.add("dtend", step.end + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        _remind_day_before(context, event, summary)
    else:
        start = datetime.combine(step.start, context.options.clock[admin.time_of_day])
        start = start.replace(tzinfo=context.options.zone)
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(minutes=DOSE_EVENT_MINUTES))
        if step.days > 1:
            event.add("rrule", {"freq": "daily", "count": step.days})
        _remind(context, event, summary, -context.options.reminder)
    event.add("description", _dose_description(context, step, admin))
    return event


def _dose_summary(context: _Context, admin: Administration) -> str:
    prefix = context.state[1]
    if admin.time_of_day == "continuous":
        return f"{prefix}{context.drug} pump {admin.dose.text}/day"
    if admin.time_of_day == "bolus":
        return f"{prefix}{context.drug} {admin.dose.text} bolus ({admin.take})"
    return f"{prefix}{context.drug} {admin.dose.text} ({admin.take})"


def _dose_description(context: _Context, step: Step, admin: Administration) -> str:
    days = f"day {step.start.isoformat()}" if step.days == 1 else (
        f"{step.days} days, {step.start.isoformat()} to {step.end.isoformat()}"
    )  # fmt: skip
    warning = (
        "Never let the pump run empty: keep every refill appointment."
        if context.plan.is_intrathecal
        else "Take with food. Do not stop baclofen suddenly."
    )
    return (
        f"Step {step.index}: {admin.dose.text} ({step.daily.text}/day), {days}. {warning}\n"
        f"{_provenance(context)}"
    )


def _milestone_event(context: _Context, milestone: Milestone) -> Event:
    label = _MILESTONE_SUMMARIES.get(milestone.kind, milestone.kind)
    summary = f"{context.state[1]}{context.drug}: {label}"
    event = _event(context, f"{milestone.kind}-{milestone.on.isoformat()}", summary)
    event.add("dtstart", milestone.on)
    event.add("dtend", milestone.on + timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    event.add("description", f"{milestone.text}\n{_provenance(context)}")
    _remind_day_before(context, event, summary)
    return event


def _event(context: _Context, part: str, summary: str) -> Event:
    status, _ = context.state
    event = Event()
    event.add("uid", context.uid(part))
    event.add("dtstamp", context.now)
    event.add("created", context.source.version.created_at)
    event.add("sequence", max(context.source.plan.lock_version - 1, 0))
    event.add("status", status)
    event.add("summary", summary)
    event.add("categories", ["Medication"])
    return event


def _remind(context: _Context, event: Event, summary: str, trigger: timedelta) -> None:
    if context.state[0] != "CONFIRMED":
        return  # a reminder to take a dose that must not be taken is worse than none
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary)
    alarm.add("trigger", trigger)
    event.add_component(alarm)


def _remind_day_before(context: _Context, event: Event, summary: str) -> None:
    """All-day events remind at the morning clock time of the day before."""
    morning = context.options.clock["morning"]
    _remind(context, event, summary, -(timedelta(days=1) - _as_delta(morning)))


def _as_delta(clock: time) -> timedelta:
    return timedelta(hours=clock.hour, minutes=clock.minute)


def _provenance(context: _Context) -> str:
    source = context.source
    return (
        f"Titrate plan {source.plan.id}, version {source.version.number} "
        f"(content {source.version.content_sha256[:12]})."
    )
