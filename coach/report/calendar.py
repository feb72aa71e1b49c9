"""`coach calendar`: a patient's care calendar as an RFC 5545 file (the icalendar library).

The events are `coach.core.care.calendar_events`: the plan's practice sessions (a weekly RRULE from
`plan set --practice`, each with an alarm), the review, and each injection's expected onset, full
effect and wearing-off. UIDs are derived from the patient's and treatments' ids and the event kind,
so importing a newer file updates the events instead of adding copies. No name, code or health
detail beyond what the patient needs is written (phone calendars are often synced to the cloud).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from coach.core import care
from coach.errors import CoachError

PRODID = "-//coach//care calendar//EN"
SEQUENCE_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _icalendar():
    try:
        import icalendar
    except ImportError:
        raise CoachError('The calendar needs icalendar: pip install "coach[calendar]".', exit_code=2) from None
    return icalendar


def build(events: list[dict], stamp: datetime | None = None) -> bytes:
    """The VCALENDAR of `events` (see `care.calendar_events`)."""
    ical = _icalendar()
    cal = ical.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Face exercises and clinic")
    stamp = stamp or datetime.now(timezone.utc).replace(microsecond=0)
    # A newer file must win over an older one in the patient's calendar: the revision is the minute it was made.
    sequence = int((stamp - SEQUENCE_EPOCH).total_seconds() // 60)
    for e in events:
        ev = ical.Event()
        ev.add("uid", e["uid"])
        ev.add("dtstamp", stamp)
        ev.add("sequence", sequence)
        ev.add("summary", e["summary"])
        ev.add("description", e["description"])
        ev.add("categories", [f"coach-{e['kind']}"])
        if isinstance(e["start"], tuple):                       # a time of day: floating local time
            start = datetime.combine(*e["start"])
            ev.add("dtstart", start)
            ev.add("dtend", start + timedelta(minutes=e["minutes"]))
        else:                                                   # whole days: DTEND is the day after
            ev.add("dtstart", e["start"])
            ev.add("dtend", e["end"] + timedelta(days=1))
            ev.add("transp", "TRANSPARENT")
        if e.get("rrule"):
            ev.add("rrule", e["rrule"])
        if e.get("alarm") is not None:
            alarm = ical.Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", e["summary"])
            alarm.add("trigger", timedelta(minutes=-e["alarm"]))
            ev.add_component(alarm)
        cal.add_component(ev)
    return cal.to_ical()


def patient_calendar(store, code: str, today: date) -> tuple[bytes, list[dict]]:
    """(the file's bytes, its events) for patient `code`."""
    from coach.report.care import patient_status

    patient = store.get_patient(code)
    status = patient_status(store, code, today)
    events = care.calendar_events(patient["id"], store.list_treatments(code), care.plan_care(store.get_plan(code)),
                                  today, status["review"])
    return build(events), events
