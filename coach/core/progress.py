"""Every figure a person reads about progress, defined once.

The report, the summary screen, the kiosk and `coach sessions` all take their
figures from here; the store only hands over rows. Reps are `Rep` records or the
store's rep rows (dicts with the same field names). Rates count *complete* reps
only: a rep cut short by a lost face says nothing about synkinesis.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from coach.core.events import Rep
from coach.core.exercises import SUNNYBROOK, Exercise
from coach.core.regions import CO_MOVEMENT_REGIONS, region_counts, watch_regions

Row = dict[str, Any]                 # a row of the store (a rep, a session, a treatment …)
RepLike = Rep | Row                  # a rep of the session under way, or a logged rep row
R = TypeVar("R", bound=RepLike)

# Sunnybrook synkinesis scale per expression: 0 none, 1 mild, 2 moderate, 3 severe
# (Ross, Fradet & Nedzelski 1996). We *estimate* it from the typical co-movement
# (`typical_co_movement`: the median |synkinesis peak|, a relative change of the
# watched measure, e.g. 0.25 = eye 25 % narrower) over the complete reps of the
# latest session with that exercise. Below 10 %
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


def _get(rep: RepLike, name: str) -> Any:
    return rep[name] if isinstance(rep, dict) else getattr(rep, name)


def complete_reps(reps: Iterable[R]) -> list[R]:
    return [r for r in reps if _get(r, "complete")]


def synkinesis_free(reps: Iterable[RepLike]) -> int:
    """Complete reps without detected synkinesis."""
    return sum(1 for r in complete_reps(reps) if not _get(r, "synkinesis"))


def synkinesis_free_rate(reps: Iterable[RepLike]) -> float | None:
    """The synkinesis-free rate: complete reps without synkinesis over complete reps."""
    done = complete_reps(reps)
    return synkinesis_free(done) / len(done) if done else None


def mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


# ---- the figures people read, each defined once: its name, its unit and how it is computed ----------
# A rep's movement and co-movement are *peaks* (the largest value during the rep). Over the reps of a
# session they are summarised two ways, under two names: the "typical" one is the median of the per-rep
# peaks (what a usual rep did: one wild rep does not move it), the "largest" the maximum (the worst rep).
# No mean of peaks is shown anywhere. A co-movement is shown as its size, whatever its direction: an eye
# that narrows by 48 % while smiling shows "48 %" in every table, plot and export (`co_movement`).
@dataclass(frozen=True)
class Figure:
    name: str           # what the report, sessions.csv, the workbook, FHIR and the review call it
    unit: str           # "%", "reps", "s", "days", "points" or "grade"
    of: str             # what a percentage is a share of ("" when it says itself)
    how: str            # how it is computed, in one or two sentences

    @property
    def column(self) -> str:
        """The column's title in sessions.csv, the workbook, the report's tables and the review."""
        return self.name if self.unit in ("reps", "grade", "events") else f"{self.name} ({self.unit})"

    @property
    def unit_words(self) -> str:
        return f"{self.unit} {self.of}".strip()


_CO = ("its peak co-movement: the largest unwanted change of a measure the exercise watches (e.g. the "
       "eye narrowing during a smile) during the rep, as a size whatever its direction")
FIGURES = {
    "done": Figure("reps done", "reps", "", "Complete reps: reps the face was tracked through. A rep cut short "
                   "(the face was lost) says nothing about synkinesis and is left out of every figure below."),
    "clean": Figure("clean reps", "reps", "", "Complete reps without synkinesis detected."),
    "clean_rate": Figure("clean-rep rate", "%", "of reps done", "Clean reps divided by reps done."),
    "typical_co_movement": Figure(
        "typical co-movement", "%", "of the watched measure's neutral size",
        f"The median, over the complete reps, of each rep's {_CO}, on the sides the detector judges (the "
        "affected side when one is recorded, else both)."),
    "largest_co_movement": Figure(
        "largest co-movement", "%", "of the watched measure's neutral size",
        "The largest, over the complete reps, of each rep's peak co-movement (as for typical co-movement)."),
    "co_movement_left": Figure(
        "typical co-movement, left", "%", "of the watched measure's neutral size",
        "Typical co-movement on the patient's anatomical left side alone (measured even when only the "
        "other side is judged: synkinesis is often on both sides)."),
    "co_movement_right": Figure(
        "typical co-movement, right", "%", "of the watched measure's neutral size",
        "Typical co-movement on the patient's anatomical right side alone."),
    "movement_left": Figure(
        "typical movement, left", "%", "of the moving measure's neutral size",
        "The median, over the complete reps, of the exercise's own movement at its peak on the patient's "
        "anatomical left side (not the mirrored screen's)."),
    "movement_right": Figure(
        "typical movement, right", "%", "of the moving measure's neutral size",
        "As typical movement, left, on the patient's anatomical right side."),
    "typical_movement": Figure(
        "typical movement", "%", "of the patient's target",
        "The median, over the complete reps, of each rep's peak movement (both sides together) as a share of "
        "the patient's target for it (100 % = the target reached)."),
    "evenness": Figure(
        "evenness", "%", "", "The smaller side's movement as a share of the larger's (100 % = both sides moved "
        "equally), the mean over the complete reps."),
    "mean_hold": Figure(
        "mean hold", "s", "", "The mean, over the complete reps, of the time each rep was held (at 80 % or more of "
        "its highest level)."),
    "steadiness": Figure(
        "hold steadiness", "%", "", "100 % minus the coefficient of variation of the movement while held (its "
        "standard deviation as a share of its mean), the mean over the complete reps: 100 % is perfectly "
        "still, 90 % wavers by about a tenth of its size."),
    "target": Figure(
        "target", "%", "of the moving measure's neutral size", "The patient's target for the exercise's own "
        "movement, as logged with the session's last set of the exercise."),
}
# Figures of one rep (the latest session's chart and Events table, the review's list of reps).
REP_FIGURES = {
    "rep_movement": Figure("peak movement", "%", "of the patient's target", "A rep's largest movement (both sides "
                           "together), as a share of the patient's target for it."),
    "rep_co_movement": Figure("peak co-movement", "%", "of the watched measure's neutral size", "The largest "
                              "unwanted change of a measure the exercise watches during one rep (or one synkinesis "
                              "event), e.g. the eye narrowing during a smile, as a size whatever its direction."),
    "rep_steadiness": Figure("rep steadiness", "%", "", "One rep's hold: 100 % minus the coefficient of variation of the "
                             "movement while held."),
}
# Figures of the report's overview and sections (not per session and exercise).
REPORT_FIGURES = {
    "adherence": Figure("adherence", "%", "of days prescribed", "Days with at least one session, divided by the "
                        "days from the first session to the report date (no practice schedule is recorded)."),
    "trend": Figure("trend", "points", "", "The clean-rep rate of full sessions over the last 4 weeks minus that "
                    "of the 4 weeks before; “steady” when the change is under 10 points."),
    "average_co_movement": Figure(
        "average co-movement", "%", "of the watched measure's neutral size",
        "The mean size of the co-movement of a session's complete reps (each rep's largest unwanted change, "
        "as for typical co-movement). Only the wearing-off watch "
        "(`coach due`, the report's opening lines) uses it: over a session's few reps it moves less from one "
        "session to the next than the median, so a rise shows sooner without more false alarms."),
    "sunnybrook": Figure("estimated Sunnybrook synkinesis grade", "grade", "", "From the typical co-movement of "
                         "the latest session with the expression: 0 below 10 %, 1 below 20 %, 2 below 35 %, else "
                         "3. An estimate, not a validated mapping."),
}


def co_movement(value: float | None) -> float | None:
    """The size of a co-movement (a relative change of a watched measure), whatever its direction."""
    return None if value is None else abs(value)


def typical(values: Iterable[float | None]) -> float | None:
    """The typical value of per-rep peaks: their median (None: no values)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def largest(values: Iterable[float | None]) -> float | None:
    """The largest of per-rep peaks (None: no values)."""
    present = [v for v in values if v is not None]
    return max(present) if present else None


def co_movements(reps: Iterable[RepLike]) -> list[float]:
    """The size of each complete rep's peak co-movement (reps without one left out)."""
    return [v for r in complete_reps(reps) if (v := co_movement(_get(r, "synkinesis_peak"))) is not None]


def typical_co_movement(reps: Iterable[RepLike]) -> float | None:
    return typical(co_movements(reps))


def largest_co_movement(reps: Iterable[RepLike]) -> float | None:
    return largest(co_movements(reps))


def average_co_movement(reps: Iterable[RepLike]) -> float | None:
    """REPORT_FIGURES["average_co_movement"]: the mean size of the complete reps' peak co-movement."""
    return mean(co_movements(reps))


def _side(r: RepLike, s: str, prefix: str = "peak") -> Any:
    if isinstance(r, dict):
        return r.get(f"{prefix}_{s}")
    return ((r.peak_by_side if prefix == "peak" else r.synkinesis_by_side) or {}).get(s)


def typical_side(reps: Iterable[RepLike], side: str, prefix: str = "peak") -> float | None:
    """The median over the complete reps of one side's |peak| ("peak") or |co-movement| ("synkinesis")."""
    return typical(co_movement(_side(r, side, prefix)) for r in complete_reps(reps))


def mean_steadiness(reps: Iterable[RepLike]) -> float | None:
    return mean(_get(r, "hold_steadiness") for r in complete_reps(reps))


def rep_stats(reps: Iterable[RepLike], affected: str | None = None) -> Row:
    """Summary of a group of reps: counts, the synkinesis-free rate, typical and largest co-movement,
    typical movement per side (`first`: the affected side when given, else left), hold and steadiness."""
    done = complete_reps(reps)
    first, second = (affected, "right" if affected == "left" else "left") if affected else ("left", "right")
    return {
        "n": len(done),
        "free": synkinesis_free(done),
        "free_rate": synkinesis_free_rate(done),
        "typical_co_movement": typical_co_movement(done),
        "largest_co_movement": largest_co_movement(done),
        "amp_first": typical_side(done, first),
        "amp_second": typical_side(done, second),
        "co_first": typical_side(done, first, "synkinesis"),
        "co_second": typical_side(done, second, "synkinesis"),
        "typical_movement": typical(_get(r, "peak") for r in done),
        "mean_hold_s": mean(_get(r, "hold_s") for r in done),
        "steadiness": mean_steadiness(done),
    }


def exercise_figures(reps: list[Row]) -> Row:
    """The FIGURES of one exercise in one session (all but `target`), from its rep rows; sides are the
    patient's anatomical left and right."""
    st = rep_stats(reps)
    return {"done": st["n"], "clean": st["free"], "clean_rate": st["free_rate"],
            "typical_co_movement": st["typical_co_movement"], "largest_co_movement": st["largest_co_movement"],
            "co_movement_left": st["co_first"], "co_movement_right": st["co_second"],
            "movement_left": st["amp_first"], "movement_right": st["amp_second"],
            "typical_movement": st["typical_movement"], "evenness": mean_evenness(reps),
            "mean_hold": st["mean_hold_s"], "steadiness": st["steadiness"]}


def by_exercise(reps: Iterable[Row]) -> dict[str, list[Row]]:
    """Rep rows grouped by exercise, in first-seen order."""
    out: dict[str, list[Row]] = {}
    for r in reps:
        out.setdefault(r["exercise"] or "?", []).append(r)
    return out


def session_figures(sessions: list[Row], reps: list[Row]) -> list[Row]:
    """Each session row with its rep counts and synkinesis-free rate (for `coach sessions`)."""
    by_session: dict[str, list[Row]] = defaultdict(list)
    for r in reps:
        by_session[r["session_id"]].append(r)
    out = []
    for s in sessions:
        rs = by_session.get(s["id"], [])
        out.append({**s, "n_reps": len(rs), "n_complete": len(complete_reps(rs)),
                    "n_synkinesis_free": synkinesis_free(rs), "synkinesis_free_rate": synkinesis_free_rate(rs)})
    return out


def exercise_summary(reps: Iterable[Row]) -> dict[str, Row]:
    """Per exercise of one session: reps, complete, synkinesis-free (count and rate), typical movement and
    mean hold."""
    out = {}
    for ex, rs in by_exercise(reps).items():
        st = rep_stats(rs)
        out[ex] = {"reps": len(rs), "complete": st["n"], "synkinesis_free": st["free"],
                   "synkinesis_free_rate": st["free_rate"], "typical_movement": st["typical_movement"],
                   "mean_hold_s": st["mean_hold_s"]}
    return out


def local_dt(iso: str) -> datetime:
    """The recorded local wall-clock time (the patient's day is what matters)."""
    return datetime.fromisoformat(iso).replace(tzinfo=None)


def per_session(reps: list[Row]) -> dict[str, list[tuple[str, list[Row]]]]:
    """exercise -> [(session_started, reps)] in time order."""
    out: dict[str, dict[str, list[Row]]] = defaultdict(dict)
    for r in reps:
        out[r["exercise"] or "?"].setdefault(r["session_started"], []).append(r)
    return {ex: sorted(by_s.items()) for ex, by_s in out.items()}


def synkinesis_grade(abs_peak: float) -> int:
    return sum(abs_peak >= cut for cut in SYNKINESIS_GRADE_CUTOFFS)


def sunnybrook_expressions(library: Mapping[str, Exercise]) -> dict[str, str]:
    """{exercise id: name} of the exercises that stand for one of Sunnybrook's five expressions."""
    practised = [ex for ex in library.values() if ex.sunnybrook]
    return {ex.id: ex.name for ex in sorted(practised, key=lambda ex: (SUNNYBROOK.index(ex.sunnybrook), ex.id))}


def sunnybrook_estimates(series: Mapping[str, list[tuple[str, list[Row]]]],
                         library: Mapping[str, Exercise], events: Iterable[Row] = ()) -> list[Row]:
    """Per Sunnybrook expression, the estimated grade from its latest session (None: not practised), from the
    reps' co-movement in any watched region (chin and neck too); `regions`: that session's events per region."""
    events, regions, rows = list(events), watch_regions(library), list[dict[str, Any]]()
    for ex, label in sunnybrook_expressions(library).items():
        latest = next(((started, [r for r in rs if r["complete"] and r["synkinesis_peak"] is not None])
                       for started, rs in reversed(series.get(ex, []))
                       if any(r["complete"] and r["synkinesis_peak"] is not None for r in rs)), None)
        if latest is None:
            rows.append({"exercise": ex, "label": label, "grade": None})
            continue
        started, done = latest
        typical_co = typical_co_movement(done)
        ids = {r.get("session_id") for r in done}
        counts = region_counts([e for e in events if e.get("session_id") in ids and e.get("exercise") == ex], regions)
        rows.append({"exercise": ex, "label": label,
                     "grade": None if typical_co is None else synkinesis_grade(typical_co),
                     "typical_co_movement": typical_co, "n": len(done), "date": started[:10], "regions": counts})
    return rows


def toxin_windows(reps: list[Row], treatments: list[Row], affected: str | None,
                  order: Iterable[str] = ()) -> list[Row]:
    """For each botulinum toxin injection: per exercise, rep figures before and after it."""
    order = list(order)
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


# ---- evenness (the patient's practice screens: coach.core.practice) ------------------------------------------------
# Retraining asks for small, even movements: a rep is "in the band" when its peak lies within this
# fraction of the patient's own target (1.0 = target). Below it the prompt is "try a little more",
# above it "gentler".
TARGET_BAND = (0.7, 1.3)


def evenness(rep: RepLike) -> float | None:
    """How evenly the two sides moved in a rep: the smaller side's peak over the larger's (1 = equal).

    From the rep's amplitude ratio when it was measured, else from the per-side peaks."""
    ratio = _field(rep, "amplitude_ratio")
    if ratio is not None and ratio > 0:
        return min(float(ratio), 1 / float(ratio))
    if isinstance(rep, dict):
        sides = (rep.get("peak_left"), rep.get("peak_right"))
    else:
        by_side = rep.peak_by_side or {}
        sides = (by_side.get("left"), by_side.get("right"))
    a, b = sides
    if a is None or b is None:
        return None
    lo, hi = sorted((abs(float(a)), abs(float(b))))
    return lo / hi if hi > 0 else None


def _field(rep: RepLike, name: str) -> Any:
    return rep.get(name) if isinstance(rep, dict) else getattr(rep, name, None)


def mean_evenness(reps: Iterable[RepLike]) -> float | None:
    """Mean evenness of the complete reps."""
    return mean(evenness(r) for r in complete_reps(reps))


def mean_onset_lag_ms(reps: Iterable[RepLike]) -> float | None:
    """Mean time between the two sides starting to move, over the complete reps."""
    return mean(_field(r, "onset_lag_ms") for r in complete_reps(reps))


def in_band(rep: RepLike, band: tuple[float, float] = TARGET_BAND) -> bool:
    peak = _get(rep, "peak")
    return peak is not None and band[0] <= peak <= band[1]


def best_rep(reps: Iterable[R], band: tuple[float, float] = TARGET_BAND) -> R | None:
    """The most even complete rep without co-movement whose size was within the band (None: no such rep).
    Ties go to the rep whose sides started closest together."""
    good = [r for r in complete_reps(reps) if not _get(r, "synkinesis") and in_band(r, band)
            and evenness(r) is not None]
    if not good:
        return None
    return max(good, key=lambda r: (round(evenness(r) or 0.0, 3), -(_field(r, "onset_lag_ms") or 0.0)))


# ---- the therapist's report: session status, adherence, trend, treatment effect ---------------------
# A session with fewer complete reps than this share of its planned reps is "short": like an
# interrupted one, it is drawn apart and left out of the trend (a killed 2-rep session is no dip).
SHORT_FRACTION = 0.5
TREND_DAYS = 28                  # the trend compares the last 4 weeks with the 4 weeks before them
TREND_MIN_CHANGE = 0.10          # a change of the clean-rep rate smaller than 10 points is "steady"


def session_status(status: str, planned_reps: list[int | None], reps: Iterable[RepLike]) -> str:
    """'completed', 'short' (completed with fewer than SHORT_FRACTION of its planned reps complete),
    'interrupted' or 'in-progress'. `planned_reps`: the planned reps of each of its sets."""
    if status != "completed":
        return status
    planned = sum(n or 0 for n in planned_reps)
    return "short" if planned and len(complete_reps(reps)) < SHORT_FRACTION * planned else "completed"


def in_trend(status: str) -> bool:
    """Whether a session with this `session_status` counts in trend lines (full sessions only)."""
    return status == "completed"


def adherence(days: Iterable[date], first: date | None, today: date) -> dict[str, Any]:
    """Days practised of days prescribed. No practice schedule is recorded, so "prescribed" is every
    day from the first session (`first`) to `today`, both included."""
    if first is None or first > today:
        return {"practised": 0, "prescribed": 0, "rate": None, "first": first}
    prescribed = (today - first).days + 1
    practised = len({d for d in days if first <= d <= today})
    return {"practised": practised, "prescribed": prescribed, "rate": practised / prescribed, "first": first}


def trend_windows(today: date) -> dict[str, tuple[date, date]]:
    """{"recent", "before"}: first and last day (both included) of the two windows a trend compares."""
    recent = (today - timedelta(days=TREND_DAYS - 1), today)
    return {"recent": recent, "before": (recent[0] - timedelta(days=TREND_DAYS), recent[0] - timedelta(days=1))}


def trend(points: Iterable[tuple[date, list[Row]]], today: date) -> dict[str, Any]:
    """The clean-rep (synkinesis-free) rate of the last TREND_DAYS against the TREND_DAYS before.

    `points`: (day, reps) of the sessions that count in trends. `direction`: "up", "down" or
    "steady" (a change under TREND_MIN_CHANGE), None when either window has no complete rep."""
    out: dict[str, Any] = {}
    points = list(points)
    for name, (lo, hi) in trend_windows(today).items():
        reps = [r for day, rs in points if lo <= day <= hi for r in rs]
        out[name], out[f"n_{name}"] = synkinesis_free_rate(reps), len(complete_reps(reps))
        out[f"evenness_{name}"] = mean_evenness(reps)
    direction = None
    if out["recent"] is not None and out["before"] is not None:
        change = out["recent"] - out["before"]
        direction = "steady" if abs(change) < TREND_MIN_CHANGE else ("up" if change > 0 else "down")
    return {**out, "direction": direction}


def toxin_window_days(day: date) -> dict[str, tuple[date, date]]:
    """{"before", "after"}: first day and the day after the last of each window around an injection."""
    return {name: (day + timedelta(days=lo), day + timedelta(days=hi))
            for name, (lo, hi) in (("before", TOXIN_BEFORE_DAYS), ("after", TOXIN_AFTER_DAYS))}


def toxin_effect(reps: list[Row], day: date, affected: str | None = None) -> dict[str, Any]:
    """All exercises together: `rep_stats` of the reps in the before and after windows of an injection."""
    return {name: rep_stats([r for r in reps if lo <= local_dt(r["session_started"]).date() < hi], affected)
            for name, (lo, hi) in toxin_window_days(day).items()}


# ---- the care calendar: the per-session figure the wearing-off test watches --------------------------
CO_MOVEMENT_MIN_REPS = 2         # a session counts for the wearing-off test with at least this many complete reps


def co_movement_points(reps: list[Row], min_reps: int = CO_MOVEMENT_MIN_REPS) -> dict[str, list[tuple[date, float]]]:
    """exercise -> [(day, average co-movement)] per session in time order: the session's average
    co-movement (`average_co_movement`, the mean |synkinesis peak| of its complete reps), the figure the
    wearing-off watch follows. Sessions
    still running, or with fewer than `min_reps` complete reps with a co-movement peak, are left out."""
    out: dict[str, list[tuple[date, float]]] = {}
    for ex, points in per_session(reps).items():
        for started, rs in points:
            done = [r for r in complete_reps(rs) if _get(r, "synkinesis_peak") is not None
                    and (r.get("session_status") if isinstance(r, dict) else None) != "in-progress"]
            if len(done) >= min_reps and (average := average_co_movement(done)) is not None:
                out.setdefault(ex, []).append((local_dt(started).date(), average))
    return out


# ---- co-movement per region (issue 21): the chin's and the neck's events per session and exercise ----------
REGION_FIGURES = {f"{region}_events": Figure(
    f"{region} co-movement events", "events", "", f"Co-movement events of the {region} ({muscle}: {sign}) in the "
    f"exercise in the session: events of a measure it watches in the {region} (`coach.core.regions`). Blank when "
    f"the exercise does not watch the {region}.") for region, muscle, sign in (
        ("chin", "mentalis", "the lower lip to chin height shortening"),
        ("neck", "platysma", "bands below the jaw growing, counted only where the neck was seen"))}


def region_figures(events: Iterable[Row], watched: set[str], regions: Mapping[str, str]) -> Row:
    """REGION_FIGURES of one exercise in one session: each region's events; None where not watched and none."""
    counts = region_counts(events, regions)
    return {f"{rg}_events": counts.get(rg, 0) if rg in watched or rg in counts else None for rg in CO_MOVEMENT_REGIONS}
