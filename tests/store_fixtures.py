"""Shared helpers for the store, report and CLI tests: a patient with weeks of history."""
from __future__ import annotations

import os
import random
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from coach.core.events import Rep
from coach.log.schema import SHARED_TABLES
from coach.log.store import Store

EXERCISES = ("brow-lift", "gentle-eye-closure", "open-mouth-smile", "snarl", "lip-pucker")
START = datetime(2024, 3, 4, 18, 30)   # a Monday evening
TOXIN_DAY = "2024-04-01"


class SettableClock:
    """A store clock that says whatever time it was last set to (naive times are local)."""

    def __init__(self, when: datetime):
        self.set(when)

    def set(self, when: datetime) -> None:
        self.now = when.astimezone()

    def __call__(self) -> datetime:
        return self.now


def rep_dict(i: int, t0: float, syn_peak: float, complete: bool = True,
             left: float = 0.12, right: float = 0.30) -> dict:
    return Rep(i, t0, t0 + 1.0, t0 + 3.0, 0.8 + 0.01 * i, {"left": left, "right": right}, 1.0, 1.6,
               0.9, syn_peak, abs(syn_peak) >= 0.15, complete,
               synkinesis_by_side={"left": abs(syn_peak), "right": round(abs(syn_peak) / 2, 3)}).to_dict()


def record_session(store: Store, code: str | None, when: datetime, exercises=EXERCISES,
                   reps: int = 4, rng: random.Random | None = None, level: float = 0.2,
                   finish: bool = True) -> str:
    """Record one session that starts at `when` and, if `finish`, ends 12 minutes later.

    The store's clock is set to those times while recording, so every time the
    store stamps (session start and end; sets from session time) is `when`-based.
    """
    rng = rng or random.Random(0)
    clock = SettableClock(when)
    saved, store.clock = store.clock, clock
    try:
        sid = store.start_session(code, source="test", kind="home")
        store.add_calibration(sid, {"eye_opening": [0.31, 0.30]})
        t = 0.0
        for ex in exercises:
            set_id = store.start_set(sid, ex, reps, t=t)
            for i in range(reps):
                for k in range(12):
                    store.add_sample(sid, t + k / 30, ex, {"level": k / 12, "eye_opening_left": 0.3})
                peak = round(rng.uniform(0.3, 1.7) * level * (1 if i % 2 else -1), 4)
                store.add_rep(sid, set_id, rep_dict(i, t, peak, complete=(i != reps - 1 or rng.random() > 0.3),
                                                    left=round(rng.uniform(0.05, 0.2), 4),
                                                    right=round(rng.uniform(0.25, 0.35), 4)))
                if abs(peak) >= 0.15:
                    store.add_event(sid, set_id, "synkinesis", "left", "eye_opening", t + 0.5, t + 2.0, peak)
                t += 4.0
            store.end_set(set_id, t=t)
        store.add_event(sid, None, "face_lost", start_s=t, end_s=t + 1.0)
        if finish:
            clock.set(when + timedelta(minutes=12))
            store.end_session(sid)
    finally:
        store.clock = saved
    return sid


def build_history(path: Path, code: str = "P1", n_sessions: int = 14) -> Path:
    """A patient with sessions over ~8 weeks, a toxin injection in the middle and a surgery."""
    rng = random.Random(42)
    with Store.open(path) as store:
        store.db.execute("PRAGMA synchronous = OFF")   # test data needs no fsync per rep: keeps tests fast
        store.add_patient(code, "Test Patient", "left", "synthetic")
        store.set_plan(code, [{"exercise": ex, "reps": 4, "hold_s": 3, "rest_s": 4} for ex in EXERCISES])
        store.add_treatment(code, TOXIN_DAY, "botulinum_toxin", "left orbicularis oculi", 5, "")
        store.add_treatment(code, "2024-03-10", "other", "", None, "physio review")
        for i in range(n_sessions):
            when = START + timedelta(days=4 * i, hours=i % 3)
            # Synkinesis shrinks after the injection day.
            level = 0.25 if when < datetime(2024, 4, 1) else 0.1
            record_session(store, code, when, rng=rng, level=level,
                           exercises=EXERCISES if i % 3 else EXERCISES[:3])
        sid = record_session(store, code, START + timedelta(days=4 * n_sessions), rng=rng, finish=False,
                             exercises=EXERCISES[:2])
        store.end_session(sid, status="interrupted")
    return path


def running_elsewhere(path, session_id: str, host: str = "kiosk-9") -> None:
    """Make a session one still running on another computer. (Closing a store ends its own
    running sessions, so a test database cannot hold one any other way.)"""
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.execute("UPDATE sessions SET status = 'in-progress', ended = NULL, host = ? WHERE id = ?",
                         [host, session_id])
    finally:
        conn.close()


def shared_counts(db) -> dict[str, int]:
    """Rows per shared table: of a SQLite file (a path), or through an open connection (sqlite3 or psycopg)."""
    if not isinstance(db, (str, os.PathLike)):
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t, _, _ in SHARED_TABLES}
    conn = sqlite3.connect(db)
    try:
        return shared_counts(conn)
    finally:
        conn.close()
