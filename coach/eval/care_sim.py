"""Simulated six-month practice logs around a botulinum toxin injection, for the wearing-off test.

`simulate(seed, rise)` gives one patient's log as the rows the store hands out (`rep_rows`), and
`write(store, patients)` puts such logs in a coach database. The noise model (README, "Seeing the
effect wear off"):

* Practice: each patient practises on a day with their own probability (uniform 45–95 %), once
  more that day with 10 %; a third of them also take one break of 5–16 days. So weeks differ.
* Level: co-movement (|synkinesis peak|, a share of the neutral measure) starts at 18–30 %, falls
  after the injection (from day 2, full by day 10) to 35–60 % of it and stays there; with a rise,
  it climbs back linearly to the starting level over 4–8 weeks from the start of week 12 after the
  injection.
* Day to day: the level is multiplied by a slowly wandering factor (AR(1) per day, φ = 0.9,
  innovations σ = 0.04 in log terms: tiredness, practice, the time of day), a per-session factor
  (log-normal, σ = 0.15: lighting, posture), and on 3 % of sessions by 1.8 (poor tracking).
* Each rep: 5 reps per exercise, each log-normal about the session's level (σ = 0.35); a rep is
  incomplete (face lost) with 8 %; 5 % of sessions are interrupted after 1–3 reps of an exercise.
* Two exercises, each watching one co-movement: gentle smile and lip pucker (eye narrowing),
  each with its own level; the injection and the rise act on both.
"""
from __future__ import annotations

import math
import random
import uuid
from datetime import date, datetime, timedelta

EXERCISES = ("gentle-smile", "lip-pucker")
DAYS_BEFORE = 14                 # the log starts 2 weeks before the injection …
DAYS_AFTER = 168                 # … and ends 24 weeks after it: six months in all
RISE_DAY = 84                    # a rise starts with week 12 after the injection
INJECTION = date(2025, 1, 6)
REPS = 5
RAMP_DAYS = (14, 28)             # a rise climbs back to the starting level over 2–4 weeks


def _level(day: int, pre: float, full: float, rise: bool, ramp_days: int) -> float:
    """The expected co-movement `day` days after the injection."""
    if day < 2:
        return pre
    if day < 10:
        return pre + (full - pre) * (day - 2) / 8
    if rise and day >= RISE_DAY:
        return full + (pre - full) * min(1.0, (day - RISE_DAY) / ramp_days)
    return full


def simulate(seed: int, rise: bool, injection: date = INJECTION) -> dict:
    """One patient: {"code", "injection", "rise_day" (None without), "reps": rep rows, "sessions": [...]}."""
    rng = random.Random(seed)
    adherence = rng.uniform(0.45, 0.95)
    gap = None
    if rng.random() < 1 / 3:
        start = rng.randint(-DAYS_BEFORE, DAYS_AFTER - 16)
        gap = (start, start + rng.randint(5, 16))
    levels = {ex: rng.uniform(0.18, 0.30) for ex in EXERCISES}
    full = {ex: levels[ex] * rng.uniform(0.35, 0.6) for ex in EXERCISES}
    ramp = rng.randint(*RAMP_DAYS)
    drift = 0.0
    reps, sessions = [], []
    for day in range(-DAYS_BEFORE, DAYS_AFTER):
        drift = 0.9 * drift + rng.gauss(0, 0.04)
        if gap and gap[0] <= day < gap[1]:
            continue
        if rng.random() > adherence:
            continue
        for n in range(2 if rng.random() < 0.10 else 1):
            when = datetime.combine(injection + timedelta(days=day), datetime.min.time()) + \
                timedelta(hours=18 - 10 * n, minutes=rng.randint(0, 59))
            sid = f"s{seed}-{day}-{n}"
            session_factor = math.exp(rng.gauss(0, 0.15)) * (1.8 if rng.random() < 0.03 else 1.0)
            interrupted = rng.random() < 0.05
            cut = rng.choice(EXERCISES) if interrupted else None
            started = when.isoformat(timespec="milliseconds")
            sessions.append({"id": sid, "started": started, "status": "interrupted" if interrupted else "completed"})
            for ex in EXERCISES:
                level = _level(day, levels[ex], full[ex], rise, ramp) * math.exp(drift) * session_factor
                n_reps = rng.randint(1, 3) if ex == cut else REPS
                for i in range(n_reps):
                    peak = level * math.exp(rng.gauss(0, 0.35))
                    reps.append({"session_id": sid, "session_started": started, "exercise": ex, "idx": i,
                                 "complete": int(rng.random() > 0.08), "synkinesis_peak": -round(peak, 4),
                                 "synkinesis": int(peak >= 0.15), "session_status": sessions[-1]["status"],
                                 "peak": round(rng.uniform(0.7, 1.2), 3), "hold_s": 3.0})
            if cut is not None:
                break
    return {"code": f"S{seed:04d}", "injection": injection, "rise_day": RISE_DAY if rise else None,
            "reps": reps, "sessions": sessions}


def treatments(patient: dict) -> list[dict]:
    return [{"id": f"t-{patient['code']}", "date": patient["injection"].isoformat(), "kind": "botulinum_toxin",
             "sites": "orbicularis oculi", "units": 5.0, "notes": ""}]


def with_points(patient: dict) -> dict:
    """The patient with the per-session figures the test reads (`points`), computed once."""
    from coach.core import progress

    return {**patient, "points": progress.co_movement_points(patient["reps"])}


def first_flag(patient: dict, params=None) -> date | None:
    """The first day `coach due`'s test flags a rise in any watched co-movement, as a therapist running
    `coach due` every day would see it. The test is sequential (it reads each session once, in order,
    and what it says on a day uses no later session), so this is the day of the session at which it
    first crosses, found in one run to the end of the log."""
    from coach.core import care, progress

    params = params or care.CUSUM
    inj = patient["injection"]
    points = patient.get("points") or progress.co_movement_points(patient["reps"])
    end = inj + timedelta(days=DAYS_AFTER)
    flags = [r["flagged"] for r in (care.detect_rise(pts, inj, end, params) for pts in points.values())
             if r["state"] == "risen"]
    return min(flags) if flags else None


def in_time(patient: dict, flag: date | None, days: int = 21) -> bool:
    """Whether a flag falls within `days` of the start of the patient's rise (not before it)."""
    if flag is None or patient["rise_day"] is None:
        return False
    start = patient["injection"] + timedelta(days=patient["rise_day"])
    return start <= flag <= start + timedelta(days=days)


def row_id(name: str) -> str:
    """A stable UUID for a simulated row (the clinic's door takes only UUIDs as ids)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"coach-care-sim:{name}"))


def write(store, patients: list[dict]) -> None:
    """Put simulated logs in a coach database: a patient, the injection and every session, set and rep
    (one transaction; ids are stable UUIDs made from the simulated names, `row_id`)."""
    from coach.log.patients import iso

    db = store.db
    with store._tx():
        for p in patients:
            pid = row_id(f"p-{p['code']}")
            first = p["sessions"][0]["started"] if p["sessions"] else p["injection"].isoformat() + "T00:00:00"
            created = iso(datetime.fromisoformat(first) - timedelta(days=1))
            db["patients"].insert({"id": pid, "code": p["code"], "display_name": None, "affected_side": "left",
                                   "notes": "simulated", "created": created, "updated": created})
            for t in treatments(p):
                db["treatments"].insert({**t, "id": row_id(t["id"]), "patient_id": pid, "updated": created})
            by_session: dict[str, dict[str, list]] = {}
            for r in p["reps"]:
                by_session.setdefault(r["session_id"], {}).setdefault(r["exercise"], []).append(r)
            for s in p["sessions"]:
                started = iso(datetime.fromisoformat(s["started"]))
                ended = iso(datetime.fromisoformat(s["started"]) + timedelta(minutes=12))
                sid = row_id(s["id"])
                db["sessions"].insert({"id": sid, "patient_id": pid, "started": started,
                                       "ended": ended if s["status"] == "completed" else None,
                                       "status": s["status"], "source": "simulated", "kind": "home",
                                       "updated": ended if s["status"] == "completed" else started})
                for j, (ex, rs) in enumerate(by_session.get(s["id"], {}).items()):
                    set_id = row_id(f"{s['id']}-{ex}")
                    db["sets"].insert({"id": set_id, "session_id": sid, "exercise": ex,
                                       "started": iso(datetime.fromisoformat(s["started"]) + timedelta(minutes=j)),
                                       "planned_reps": REPS})
                    db["reps"].insert_all({"id": row_id(f"{s['id']}-{ex}-{r['idx']}"), "session_id": sid, "set_id": set_id,
                                           "idx": r["idx"], "peak": r["peak"], "synkinesis_peak": r["synkinesis_peak"],
                                           "synkinesis": r["synkinesis"], "complete": r["complete"], "hold_s": r["hold_s"]} for r in rs)
