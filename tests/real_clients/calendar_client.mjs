// Reads calendars as a calendar app does, with ical.js (npm, Thunderbird's parser): registers
// each file's VTIMEZONE, expands every event's recurrence, and lists the reminders that would
// go off (events not CANCELLED that carry a VALARM), each at its UTC instant. Input on stdin:
// a JSON array of iCalendar texts; output: one JSON object per calendar.
import ICAL from 'ical.js';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const texts = JSON.parse(Buffer.concat(chunks).toString('utf8'));

function read(text) {
  const calendar = new ICAL.Component(ICAL.parse(text));
  for (const zone of calendar.getAllSubcomponents('vtimezone')) {
    ICAL.TimezoneService.register(zone);
  }
  const events = [];
  const reminders = [];
  for (const component of calendar.getAllSubcomponents('vevent')) {
    const event = new ICAL.Event(component);
    const status = component.getFirstPropertyValue('status');
    const alarms = component.getAllSubcomponents('valarm');
    const starts = [];
    const iterator = event.iterator();
    for (let next = iterator.next(); next && starts.length < 1000; next = iterator.next()) {
      const start = next.clone();
      starts.push(start.isDate ? start.toString() : start.toJSDate().toISOString());
    }
    events.push({
      uid: event.uid,
      sequence: event.sequence,
      status,
      summary: event.summary,
      zone: event.startDate.zone?.tzid ?? null,
      starts,
      alarms: alarms.length,
    });
    if (status !== 'CANCELLED' && alarms.length > 0) {
      for (const start of starts) reminders.push(`${start} ${event.summary}`);
    }
  }
  reminders.sort();
  return { events, reminders, zones: calendar.getAllSubcomponents('vtimezone').length };
}

process.stdout.write(JSON.stringify(texts.map(read)));
