"""The patient's own practice: what the "Your progress" screen and the welcome are drawn from (`History`),
the days practised and the streak, and the progress overview. Its figures come from
`coach.core.progress`, where each is defined once."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from coach.core.events import Rep
from coach.core.progress import Row, by_exercise, local_dt, mean_evenness, synkinesis_free_rate

PROGRESS_DAYS = 14


@dataclass(frozen=True)
class History:
    """What the "Your progress" screen is drawn from: the patient's logged rep rows (with `exercise` and
    `session_started`) and today's date (the patient's own calendar)."""

    reps: list[Row] = field(default_factory=list)
    today: date = field(default_factory=date.today)
    note: tuple[str, ...] = ()        # the welcome screen's gentle lines (coach.core.care.patient_note)
    timeline: Row | None = None       # the latest injection's cycle for "Your progress" (coach.core.care.timeline)


def rep_row(rep: Rep, exercise: str, started: str) -> Row:
    """A `Rep` of the session under way as a rep row, so today's reps join the logged ones."""
    by_side = rep.peak_by_side or {}
    return {"exercise": exercise, "session_started": started, "complete": rep.complete,
            "synkinesis": rep.synkinesis, "peak": rep.peak, "peak_left": by_side.get("left"),
            "peak_right": by_side.get("right"), "amplitude_ratio": rep.amplitude_ratio,
            "onset_lag_ms": rep.onset_lag_ms, "synkinesis_peak": rep.synkinesis_peak}


def practice_days(dates: Iterable[date], today: date, days: int = PROGRESS_DAYS) -> list[tuple[date, bool]]:
    """The last `days` days up to today, each with whether the patient practised then."""
    done = set(dates)
    return [(d, d in done) for d in (today - timedelta(days=i) for i in range(days - 1, -1, -1))]


def streak(dates: Iterable[date], today: date) -> int:
    """Days in a row with practice, ending today (or yesterday, when today is still to come)."""
    done = set(dates)
    day = today if today in done else today - timedelta(days=1)
    n = 0
    while day in done:
        n += 1
        day -= timedelta(days=1)
    return n


def progress_overview(reps: list[Row], today: date, names: Mapping[str, str] | None = None,
                      days: int = PROGRESS_DAYS) -> dict[str, Any]:
    """The patient's "Your progress" screen, from rep rows (with `exercise` and `session_started`).

    {"days": [(date, practised)], "practised": n, "streak": n, "exercises": [{"exercise", "name",
    "days": [(date, rate without co-movement or None, evenness or None)]}]} over the last `days` days."""
    names = names or {}
    first = today - timedelta(days=days - 1)
    recent = [r for r in reps if first <= local_dt(r["session_started"]).date() <= today]
    dates = {local_dt(r["session_started"]).date() for r in reps}
    window = practice_days(dates, today, days)
    exercises = []
    for ex, rs in by_exercise(recent).items():
        per_day: dict[date, list[Row]] = defaultdict(list)
        for r in rs:
            per_day[local_dt(r["session_started"]).date()].append(r)
        exercises.append({"exercise": ex, "name": names.get(ex, ex.replace("-", " ").capitalize()),
                          "days": [(d, synkinesis_free_rate(per_day.get(d, [])),
                                    mean_evenness(per_day.get(d, []))) for d, _ in window]})
    return {"days": window, "practised": sum(p for _, p in window), "streak": streak(dates, today),
            "exercises": exercises}
