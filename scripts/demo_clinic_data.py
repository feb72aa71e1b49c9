"""Two small coach logs for the clinic-store demo (scripts/clinic_demo.sh): patient P017 practising
at home and at the clinic kiosk, over the last nine weeks, with a botulinum toxin injection five
weeks ago. Synthetic numbers, made through the
library as a real session would be (start, calibrate, sets, reps, events, end).

    python scripts/demo_clinic_data.py HOME.db KIOSK.db

Both logs register P017 on their own (two UUIDs, one code): the clinic store joins them.
"""
from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta

from coach.core.events import Rep
from coach.log.store import Store

CODE = "P017"
EXERCISES = ("gentle-smile", "gentle-eye-closure")
REPS = 5
TOXIN_DAYS_AGO = 35     # so the report has both its windows: 2 weeks before, weeks 2-6 after


class Clock:
    """The store's clock, set to each session's own times (so the demo spans nine weeks)."""

    def __init__(self, when: datetime):
        self.now = when.astimezone()

    def __call__(self) -> datetime:
        return self.now


def record(store: Store, when: datetime, kind: str, rng: random.Random, level: float) -> None:
    """One finished session of both exercises, `REPS` reps each."""
    store.clock = Clock(when)
    sid = store.start_session(CODE, source="demo data", kind=kind)
    store.add_calibration(sid, {"eye_opening": [0.31, 0.30]}, t=0.0)
    t = 2.0
    for exercise in EXERCISES:
        set_id = store.start_set(sid, exercise, REPS, t=t)
        for i in range(REPS):
            co_movement = round(rng.uniform(0.3, 1.6) * level, 4)
            rep = Rep(i, t, t + 1.2, t + 3.5, round(rng.uniform(0.7, 1.1), 3),
                      {"left": round(rng.uniform(0.05, 0.2), 4), "right": round(rng.uniform(0.25, 0.35), 4)},
                      1.2, 2.0, round(rng.uniform(0.8, 0.95), 3), -co_movement, co_movement >= 0.15, True,
                      synkinesis_by_side={"left": co_movement, "right": round(co_movement * rng.uniform(0.3, 0.6), 4)})
            store.add_rep(sid, set_id, rep.to_dict())
            if co_movement >= 0.15:
                store.add_event(sid, set_id, "synkinesis", "left", "eye_opening", t + 0.6, t + 2.4, -co_movement)
            t += 6.0
        store.end_set(set_id, t=t)
    store.clock = Clock(when + timedelta(seconds=t + 5))
    store.end_session(sid)


def make_log(path: str, kind: str, days: range, seed: int, registered: int) -> None:
    """A log whose patient was registered `registered` days ago, with a session on each of `days` ago."""
    rng = random.Random(seed)
    today = datetime.now().replace(hour=8, minute=0, second=0, microsecond=0)
    with Store.open(path, clock=Clock(today - timedelta(days=registered))) as store:
        store.add_patient(CODE, "Demo Patient", "left", "synthetic demo data")
        store.set_plan(CODE, [{"exercise": ex, "reps": REPS, "hold_s": 3, "rest_s": 4} for ex in EXERCISES])
        for day in days:
            level = 0.22 if day > TOXIN_DAYS_AGO - 3 else 0.1    # less co-movement once the toxin acts
            record(store, today - timedelta(days=day, hours=-10 if kind == "home" else -2), kind, rng, level)
        if kind == "kiosk":
            store.clock = Clock(today)
            store.add_treatment(CODE, (today - timedelta(days=TOXIN_DAYS_AGO)).date().isoformat(), "botulinum_toxin",
                                "orbicularis oculi L", 7.5)


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit("usage: python scripts/demo_clinic_data.py HOME.db KIOSK.db")
    make_log(argv[0], "home", range(62, 0, -2), seed=1, registered=64)     # every other evening at home
    make_log(argv[1], "kiosk", range(63, 0, -7), seed=2, registered=63)    # weekly at the clinic


if __name__ == "__main__":
    main(sys.argv[1:])
