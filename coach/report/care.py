"""The care status of patients, read from the store: what `coach due` lists, the report opens with,
the welcome screen tells the patient and `coach calendar` writes (figures: `coach.core.care`).

`patient_status(store, code, today)` reads one patient's rows once and hands them to
`coach.core.care.care_status`; `due_section(data)` is the report's opening lines, from the rows the
report already read (`coach.report.data.ReportData`), so both say the same.
"""
from __future__ import annotations

from datetime import date

from coach.core import care
from coach.report.html import esc


def patient_status(store, code: str, today: date, library: dict | None = None, **limits) -> dict:
    """One patient's care status, read from the store (voided sessions left out, as everywhere)."""
    if library is None:
        from coach.core.exercises import load_library
        library = load_library()[0]
    return care.status_from_rows(today=today, patient=store.get_patient(code), treatments=store.list_treatments(code),
                     reps=store.rep_rows(code), sessions=store.session_rows(code), plan=store.get_plan(code),
                     library=library, **limits)


def due(store, today: date, library: dict | None = None, code: str | None = None, **limits) -> list[tuple[dict, dict]]:
    """(patient row, status) of every patient (or `code`) with something due, by patient code."""
    if library is None:
        from coach.core.exercises import load_library
        library = load_library()[0]
    patients = [store.get_patient(code)] if code else store.list_patients()
    out = []
    for p in patients:
        status = patient_status(store, p["code"], today, library, **limits)
        if status["lines"]:
            out.append((p, status))
    return out


def due_section(data) -> str:
    """The report's opening lines: the same as `coach due` says of this patient (nothing when nothing is due)."""
    status = care.status_from_rows(today=data.today, patient=data.patient, treatments=data.treatments, reps=data.reps,
                       sessions=data.sessions, plan=data.plan, library=data.library)
    if not status["lines"]:
        return ""
    items = "".join(f"<li>{esc(line)}</li>" for line in status["lines"])
    return (f"<section id='due'><h2>Due now</h2><ul class='due' style='font-size: 11pt; margin: 0.3em 0 0.3em 1.2em'>{items}</ul><p class='note'>As "
            "<code>coach due</code> lists it: a review comes "
            f"{care.plan_care(data.plan).get('review_weeks', care.REVIEW_WEEKS)} weeks after the last botulinum "
            "toxin injection, sooner when co-movement is seen rising again (a CUSUM test against weeks 2–6 "
            f"after it); practice has lapsed after {care.LAPSED_DAYS} days without a session.</p></section>")
