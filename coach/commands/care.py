"""`coach due|calendar`: the care calendar for the therapist and for the patient.

Thin commands over `coach.report.care` and `coach.report.calendar`: parse, call, print. Both read a
local database or the clinic store (`--db postgresql://…`, through the same temporary mirror as
`coach sessions`), so the answers are the same from either.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from coach.commands.common import read_db_option, read_store
from coach.errors import CoachError


def as_of(value: str | None) -> date:
    if value is None:
        return date.today()
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise CoachError(f"--on wants a date as YYYY-MM-DD, not {value!r}.", exit_code=2) from None


on_option = click.option("--on", "on", metavar="YYYY-MM-DD", help="As of this day (default: today).")


@click.command()
@click.option("--patient", "code", help="Only this patient.")
@click.option("--lapsed-days", type=click.IntRange(1, 365), default=7, show_default=True,
              help="Practice has lapsed after this many days without a session.")
@click.option("--within", "soon", type=click.IntRange(0, 365), default=14, show_default=True,
              help="List reviews due within this many days (overdue ones always).")
@on_option
@read_db_option
def due(code, lapsed_days, soon, on, db):
    """What is due, patient by patient: reviews due or overdue (12 weeks after the last botulinum toxin
    injection, or `plan set --review-weeks`; sooner when the effect is seen wearing off), practice that
    has lapsed, and co-movement that has risen again since an injection's full effect."""
    from coach.report.care import due as due_list

    today = as_of(on)
    with read_store(db, code) as store:
        found = due_list(store, today, code=code, lapsed_days=lapsed_days, soon_days=soon)
    if not found:
        click.echo(f"Nothing due on {today.isoformat()}: no review within {soon} days, no practice lapsed "
                   f"for {lapsed_days} days, no co-movement seen rising.")
        return
    for patient, status in found:
        name = f"  {patient['display_name']}" if patient.get("display_name") else ""
        click.echo(f"{patient['code']}{name}")
        for line in status["lines"]:
            click.echo(f"  {line}")


def calendar_name(code: str) -> str:
    import re

    return f"care-{re.sub(r'[^A-Za-z0-9_-]+', '_', code).strip('_') or 'patient'}.ics"


@click.command()
@click.argument("code")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="The .ics file (default care-CODE.ics).")
@on_option
@read_db_option
def calendar(code, out, on, db):
    """Write patient CODE's care calendar (RFC 5545, owner-only) to import into a phone or mail calendar:
    the practice times of the plan (`plan set --practice`) with reminders, the review, and each
    injection's expected onset, full effect and wearing-off. Importing a newer file updates the events."""
    from coach.core.files import write_bytes
    from coach.report.calendar import patient_calendar

    today = as_of(on)
    with read_store(db, code) as store:
        data, events = patient_calendar(store, code, today)
    out = out or Path(calendar_name(code))
    try:
        write_bytes(out, data)                       # atomic, and 0600: it is health data
    except OSError as exc:
        raise CoachError(f"Cannot write {out}: {exc.strerror}.") from exc
    kinds = [e["kind"] for e in events]
    parts = [f"{kinds.count('practice')} practice time" if "practice" in kinds else "no practice times (plan set "
             f"{code} --practice \"Mon-Fri 18:00\")",
             "the review" if "review" in kinds else "no review (no injection recorded)",
             f"{kinds.count('onset')} injection{'s' if kinds.count('onset') != 1 else ''}"]
    click.echo(f"Wrote {out}: {', '.join(parts)}.")


COMMANDS = [due, calendar]
