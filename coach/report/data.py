"""What the report shows, gathered once from the store: the sessions to show and their rows.

`shown_sessions` is the one place that decides which sessions a report shows;
every table and plot takes its sessions, sets and reps from `ReportData`, so a
session left out there (e.g. a voided one) is left out everywhere.

Units. Rep amplitudes and co-movements are relative changes of a measure of the
patient's own neutral face (`coach.core.calibration`): eye opening and brow
height as a share of their neutral size, mouth movements as a share of the
neutral mouth width. `unit_of` names that reference; `mm_reps` converts
amplitudes to millimetres when every session has an iris calibration.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from coach.core import progress
from coach.core.calibration import Baseline, to_mm
from coach.core.progress import local_dt
from coach.core.summary import with_evenness

# The neutral size each relative measure is a share of.
MEASURE_REFERENCE = {"eye_opening": "neutral eye opening", "brow_height": "neutral brow height",
                     "mouth_width": "neutral mouth width", "chin_raise": "neutral lip-to-chin height",
                     "lip_chin_height": "neutral lip-to-chin height", "neck_bands": "the neutral neck's ridges"}
DEFAULT_REFERENCE = "mouth width"          # commissure_*, upper_lip_elevation, mouth_open


def unit_of(measure: str | None) -> str:
    """'% of neutral eye opening', '% of mouth width', …"""
    if measure is None:                      # an exercise no longer in the library
        return "% of its neutral size"
    return f"% of {MEASURE_REFERENCE.get(measure, DEFAULT_REFERENCE)}"


def shown_sessions(store, code: str) -> list[dict]:
    """The patient's sessions the report shows, oldest first: the one place to leave sessions out.

    A voided session (`coach session void`) is kept in the log but not shown: `store.sessions`
    leaves it out, and so does the check here; everything else is."""
    return [s for s in store.sessions(code) if not s.get("voided") and s.get("status") != "voided"]


@dataclass
class Point:
    """One session's reps of one exercise, as a point on a trend plot."""
    started: str
    reps: list[dict]
    full: bool                          # counts in the trend line (completed, not short)

    @property
    def when(self) -> datetime:
        return local_dt(self.started)


@dataclass
class ReportData:
    patient: dict
    today: date
    sessions: list[dict]                     # shown sessions, oldest first, with "state" (session_status)
    sets: dict[str, list[dict]]              # session id -> its sets
    reps: list[dict]                         # reps of the shown sessions, in time order
    treatments: list[dict]
    plan: list[dict] | None
    library: dict
    baselines: dict[str, Baseline | None] = field(default_factory=dict)   # session id -> last calibration
    voided: list[dict] = field(default_factory=list)    # voided sessions (with `voided`: the reason), oldest first
    events: list[dict] = field(default_factory=list)    # the shown sessions' events, with their `exercise`

    @property
    def affected(self) -> str | None:
        return self.patient["affected_side"]

    @property
    def side_words(self) -> tuple[str, str]:
        return ("affected", "other") if self.affected else ("left", "right")

    def name(self, exercise: str | None) -> str:
        ex = self.library.get(exercise or "")
        return ex.name if ex else (exercise or "?").replace("-", " ").capitalize()

    def prime_measure(self, exercise: str) -> str | None:
        ex = self.library.get(exercise)
        return ex.prime.measure if ex else None

    def watch_measures(self, exercise: str) -> list[tuple[str, str]]:
        """(measure, label) of each co-movement the exercise watches."""
        ex = self.library.get(exercise)
        return [(w.measure, w.label) for w in ex.watches] if ex else []

    def exercises(self) -> list[str]:
        """Exercises with reps: the plan's in its order, then the others by name."""
        plan_order = [i["exercise"] for i in self.plan or []]
        found = {r["exercise"] or "?" for r in self.reps}
        return sorted(found, key=lambda ex: (ex not in plan_order,
                                             plan_order.index(ex) if ex in plan_order else 0, self.name(ex)))

    def series(self) -> dict[str, list[Point]]:
        """exercise -> its sessions as trend points, in time order."""
        states = {s["started"]: s["state"] for s in self.sessions}
        return {ex: [Point(started, reps, progress.in_trend(states.get(started, "completed")))
                     for started, reps in points]
                for ex, points in progress.per_session(self.reps).items()}

    def trend_points(self, points: list[Point]) -> list[tuple[date, list[dict]]]:
        return [(p.when.date(), p.reps) for p in points if p.full]

    def mm_reps(self, reps: list[dict], exercise: str) -> list[dict] | None:
        """The reps with their per-side amplitudes in mm, or None unless every rep's session
        has an iris calibration."""
        measure = self.prime_measure(exercise)
        if measure is None:
            return None
        out = []
        for r in reps:
            base = self.baselines.get(r["session_id"])
            if base is None:
                return None
            out.append({**r, **{k: None if r[k] is None else to_mm(r[k], measure, base)
                                for k in ("peak_left", "peak_right")}})
        return out


def _baseline(calibrations: list[dict]) -> Baseline | None:
    """The session's last calibration, if it has the iris scale (mm per eye-distance unit)."""
    if not calibrations:
        return None
    try:
        base = Baseline.from_dict(calibrations[-1]["baseline"])
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return base if math.isfinite(base.mm_per_iod) and base.mm_per_iod > 0 else None


def voided_sessions(store, code: str) -> list[dict]:
    """The patient's voided sessions, oldest first: listed in the report with their reason, in no figure."""
    return [s for s in store.session_rows(code, include_voided=True) if s.get("voided")]


def evenness_rows(store, code: str) -> list[dict]:
    """The logged evenness and timing of the patient's reps (none in a log without `rep_evenness`)."""
    if "rep_evenness" not in store.db.table_names():
        return []
    return list(store.db.query("SELECT e.* FROM rep_evenness e JOIN reps r ON r.id = e.rep_id JOIN sessions s "
                               "ON s.id = r.session_id JOIN patients p ON p.id = s.patient_id WHERE p.code = ?",
                               [code]))


def gather(store, code: str, today: date, library: dict) -> ReportData:
    """Everything the report shows about patient `code`, read once."""
    patient = store.get_patient(code)
    sessions = shown_sessions(store, code)
    ids = {s["id"] for s in sessions}
    reps = with_evenness([r for r in store.rep_rows(code) if r["session_id"] in ids], evenness_rows(store, code))
    sets = {s["id"]: store.session_sets(s["id"]) for s in sessions}
    by_session: dict[str, list[dict]] = {}
    for r in reps:
        by_session.setdefault(r["session_id"], []).append(r)
    sessions = [{**s, "state": progress.session_status(s["status"], [st["planned_reps"] for st in sets[s["id"]]],
                                                        by_session.get(s["id"], []))} for s in sessions]
    return ReportData(patient, today, sessions, sets, reps, store.list_treatments(code), store.get_plan(code),
                      library, {s["id"]: _baseline(store.calibrations(s["id"])) for s in sessions},
                      voided_sessions(store, code), [e for e in store.event_rows(code) if e["session_id"] in ids])
