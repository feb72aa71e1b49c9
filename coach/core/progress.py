"""Every figure a person reads about progress, defined once.

The report, the summary screen, the kiosk and `coach sessions` all take their
figures from here; the store only hands over rows. Reps are `Rep` records or the
store's rep rows (dicts with the same field names). Rates count *complete* reps
only: a rep cut short by a lost face says nothing about synkinesis.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, datetime, timedelta

from coach.core.exercises import SUNNYBROOK

# Sunnybrook synkinesis scale per expression: 0 none, 1 mild, 2 moderate, 3 severe
# (Ross, Fradet & Nedzelski 1996). We *estimate* it from the median |synkinesis
# peak| (relative change of the watched measure, e.g. 0.25 = eye 25 % narrower)
# over the complete reps of the latest session with that exercise. Below 10 %
# is within healthy faces' 7–9 % motion asymmetry, hence grade 0. An estimate,
# not a validated mapping.
SYNKINESIS_GRADE_CUTOFFS = (0.10, 0.20, 0.35)   # |peak| below each -> grade 0, 1, 2; else 3
GRADE_LABELS = ("none", "mild", "moderate", "severe")
# Botulinum toxin shows an effect in 2–3 days, is full at 1–2 weeks and wanes
# over ~3–4 months (onabotulinumtoxinA label; Cooper, Lui & Nduka, J Plast
# Reconstr Aesthet Surg 2017;70:833). So we compare the 2 weeks before an
# injection with weeks 2–6 after it: full effect, before it wanes.
TOXIN_BEFORE_DAYS = (-14, 0)     # [date − 14 d, date)
TOXIN_AFTER_DAYS = (14, 42)      # [date + 14 d, date + 42 d)


def _get(rep, name: str):
    return rep[name] if isinstance(rep, dict) else getattr(rep, name)


def complete_reps(reps) -> list:
    return [r for r in reps if _get(r, "complete")]


def synkinesis_free(reps) -> int:
    """Complete reps without detected synkinesis."""
    return sum(1 for r in complete_reps(reps) if not _get(r, "synkinesis"))


def synkinesis_free_rate(reps) -> float | None:
    """The synkinesis-free rate: complete reps without synkinesis over complete reps."""
    done = complete_reps(reps)
    return synkinesis_free(done) / len(done) if done else None


def mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def rep_stats(reps, affected: str | None = None) -> dict:
    """Summary of a group of reps: counts, the synkinesis-free rate, mean co-movement and amplitudes."""
    done = complete_reps(reps)
    first, second = (affected, "right" if affected == "left" else "left") if affected else ("left", "right")

    def side(r, s):
        if isinstance(r, dict):
            return r.get(f"peak_{s}")
        return (r.peak_by_side or {}).get(s)

    return {
        "n": len(done),
        "free": synkinesis_free(done),
        "free_rate": synkinesis_free_rate(done),
        "co_move": mean(abs(_get(r, "synkinesis_peak")) for r in done if _get(r, "synkinesis_peak") is not None),
        "amp_first": mean(abs(v) for r in done if (v := side(r, first)) is not None),
        "amp_second": mean(abs(v) for r in done if (v := side(r, second)) is not None),
        "mean_peak": mean(_get(r, "peak") for r in done),
        "mean_hold_s": mean(_get(r, "hold_s") for r in done),
    }


def by_exercise(reps) -> dict[str, list]:
    """Rep rows grouped by exercise, in first-seen order."""
    out: dict[str, list] = {}
    for r in reps:
        out.setdefault(r["exercise"] or "?", []).append(r)
    return out


def session_figures(sessions: list[dict], reps: list[dict]) -> list[dict]:
    """Each session row with its rep counts and synkinesis-free rate (for `coach sessions`)."""
    by_session: dict[str, list] = defaultdict(list)
    for r in reps:
        by_session[r["session_id"]].append(r)
    out = []
    for s in sessions:
        rs = by_session.get(s["id"], [])
        out.append({**s, "n_reps": len(rs), "n_complete": len(complete_reps(rs)),
                    "n_synkinesis_free": synkinesis_free(rs), "synkinesis_free_rate": synkinesis_free_rate(rs)})
    return out


def exercise_summary(reps) -> dict[str, dict]:
    """Per exercise of one session: reps, complete, synkinesis-free (count and rate), mean peak and hold."""
    out = {}
    for ex, rs in by_exercise(reps).items():
        st = rep_stats(rs)
        out[ex] = {"reps": len(rs), "complete": st["n"], "synkinesis_free": st["free"],
                   "synkinesis_free_rate": st["free_rate"], "mean_peak": st["mean_peak"],
                   "mean_hold_s": st["mean_hold_s"]}
    return out


def local_dt(iso: str) -> datetime:
    """The recorded local wall-clock time (the patient's day is what matters)."""
    return datetime.fromisoformat(iso).replace(tzinfo=None)


def per_session(reps: list[dict]) -> dict[str, list[tuple[str, list[dict]]]]:
    """exercise -> [(session_started, reps)] in time order."""
    out: dict[str, dict[str, list]] = defaultdict(dict)
    for r in reps:
        out[r["exercise"] or "?"].setdefault(r["session_started"], []).append(r)
    return {ex: sorted(by_s.items()) for ex, by_s in out.items()}


def synkinesis_grade(abs_peak: float) -> int:
    return sum(abs_peak >= cut for cut in SYNKINESIS_GRADE_CUTOFFS)


def sunnybrook_expressions(library: dict) -> dict[str, str]:
    """{exercise id: name} of the exercises that stand for one of Sunnybrook's five expressions."""
    practised = [ex for ex in library.values() if ex.sunnybrook]
    return {ex.id: ex.name for ex in sorted(practised, key=lambda ex: (SUNNYBROOK.index(ex.sunnybrook), ex.id))}


def sunnybrook_estimates(series: dict, library: dict) -> list[dict]:
    """Per Sunnybrook expression, the estimated grade from its latest session (None: not practised)."""
    rows = []
    for ex, label in sunnybrook_expressions(library).items():
        latest = next(((started, [r for r in rs if r["complete"] and r["synkinesis_peak"] is not None])
                       for started, rs in reversed(series.get(ex, []))
                       if any(r["complete"] and r["synkinesis_peak"] is not None for r in rs)), None)
        if latest is None:
            rows.append({"exercise": ex, "label": label, "grade": None})
            continue
        started, done = latest
        median = statistics.median(abs(r["synkinesis_peak"]) for r in done)
        rows.append({"exercise": ex, "label": label, "grade": synkinesis_grade(median),
                     "median": median, "n": len(done), "date": started[:10]})
    return rows


def toxin_windows(reps: list[dict], treatments: list[dict], affected: str | None,
                  order: list[str] = ()) -> list[dict]:
    """For each botulinum toxin injection: per exercise, rep figures before and after it."""
    rows = []
    for t in treatments:
        if t["kind"] != "botulinum_toxin":
            continue
        day = date.fromisoformat(t["date"])
        windows = {}
        for name, (lo, hi) in (("before", TOXIN_BEFORE_DAYS), ("after", TOXIN_AFTER_DAYS)):
            start, end = day + timedelta(days=lo), day + timedelta(days=hi)
            windows[name] = [r for r in reps if start <= local_dt(r["session_started"]).date() < end]
        found = {r["exercise"] for w in windows.values() for r in w}
        exercises = [ex for ex in order if ex in found] + sorted(found - set(order))
        rows.append({"treatment": t, "exercises": [
            (ex, rep_stats([r for r in windows["before"] if r["exercise"] == ex], affected),
             rep_stats([r for r in windows["after"] if r["exercise"] == ex], affected))
            for ex in exercises]})
    return rows
