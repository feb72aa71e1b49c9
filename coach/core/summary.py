"""One row per session and exercise: what a person reads about each session, in plain fields.

`session_rows` turns the rows the report is built from (`coach.report.data.gather`: the
sessions it shows, their sets, and their rep rows with `with_evenness` applied) into the rows
of `sessions.csv`, the workbook's "Sessions" sheet, the FHIR Observations and the report's
session list. Every figure comes from `coach.core.progress`; nothing is defined twice.

The fields of a row (fractions, not percentages; `plain` rounds them for people):

    date, time      the session's start, in the patient's local wall-clock time
    kind            home, kiosk or demo
    status          completed, short or interrupted (`progress.session_status`, in the report's words)
    exercise        the exercise's name in the library; exercise_id its id
    planned         reps planned for the exercise in the session's sets (None: no set of it)
    the figures     every key of `progress.FIGURES` (done, clean, clean_rate, typical_co_movement,
                    largest_co_movement, …, target), computed by `progress.exercise_figures`;
                    their names, units and definitions are there, once. `target` is the target
                    logged with the session's last set of the exercise (`sets.target`).
    chin_events,    the co-movement events of the chin and of the neck (`progress.REGION_FIGURES`),
    neck_events     blank when the exercise does not watch that region.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, Callable

from coach.core import progress
from coach.core.exercises import Exercise
from coach.core.progress import local_dt
from coach.core.regions import watch_regions, watched_regions

# How the report and the exports word a session's status (`progress.session_status`).
STATUS_WORDS = {"completed": "completed", "short": "short", "interrupted": "interrupted",
                "in-progress": "in progress"}
# Field -> plain column name, in the order sessions.csv and the workbook show them. The figures'
# columns are named by `progress.FIGURES` ("typical co-movement (%)", …).
COLUMNS = {
    "date": "date", "time": "time", "kind": "kind", "status": "status", "exercise": "exercise",
    "exercise_id": "exercise id", "planned": "reps planned",
    **{key: fig.column for key, fig in progress.FIGURES.items()},
    **{key: fig.column for key, fig in progress.REGION_FIGURES.items()},
}
PERCENT_FIELDS = tuple(key for key, fig in progress.FIGURES.items() if fig.unit == "%")
SECONDS_FIELDS = tuple(key for key, fig in progress.FIGURES.items() if fig.unit == "s")
# One decimal of a percentage: finer than the report's whole percentages (so they round to them),
# coarser than the measurement's own noise. Seconds to a tenth too.
PERCENT_DECIMALS = 1
# The `rep_evenness` columns a rep row takes on (`coach.log.store.Store.add_rep` writes them with the rep).
EVENNESS_FIELDS = ("onset_lag_ms", "late_side", "amplitude_ratio", "smoothness")


def with_evenness(reps: list[dict[str, Any]], evenness_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rep rows with their logged evenness and timing (`rep_evenness`), where there is some."""
    by_rep = {e["rep_id"]: e for e in evenness_rows}
    return [{**r, **{k: by_rep[r["id"]].get(k) for k in EVENNESS_FIELDS}} if r.get("id") in by_rep else r
            for r in reps]


def exercise_figures(sets: list[dict[str, Any]], reps: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of one exercise in one session, from its sets and rep rows (see `progress.FIGURES`)."""
    targets = [s["target"] for s in sets if s.get("target") is not None]
    return {"planned": sum(s["planned_reps"] or 0 for s in sets) if sets else None,
            **progress.exercise_figures(reps), "target": targets[-1] if targets else None}


def _default_name(exercise: str) -> str:
    return exercise.replace("-", " ").capitalize()


def session_rows(sessions: list[dict[str, Any]], sets: dict[str, list[dict[str, Any]]], reps: list[dict[str, Any]],
                 name: Callable[[str], str] | None = None, events: Iterable[dict[str, Any]] = (),
                 library: Mapping[str, Exercise] | None = None) -> list[dict[str, Any]]:
    """One row per session and exercise, sessions in the given order (oldest first), exercises in
    the order of their sets, then any with reps but no set. `sets`: session id -> its sets;
    `name`: exercise id -> its name; `events`: the sessions' event rows (with their `exercise`), for
    the co-movement per region (`progress.REGION_FIGURES`), by the watches of `library`.
    Each row also carries `session_id`, `started` and `state`."""
    name = name or _default_name
    library = library or {}
    regions = watch_regions(library)
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in reps:
        by_session[r["session_id"]].append(r)
    events_of: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        events_of[(e["session_id"], e.get("exercise") or "")].append(e)
    out = []
    for s in sessions:
        s_sets, s_reps = sets.get(s["id"], []), by_session.get(s["id"], [])
        state = progress.session_status(s["status"], [st["planned_reps"] for st in s_sets], s_reps)
        by_ex = progress.by_exercise(s_reps)
        started = local_dt(s["started"])
        for ex in dict.fromkeys([st["exercise"] for st in s_sets] + list(by_ex)):
            out.append({"session_id": s["id"], "started": s["started"], "state": state,
                        "date": started.date().isoformat(), "time": f"{started:%H:%M}", "kind": s["kind"],
                        "status": STATUS_WORDS.get(state, state), "exercise": name(ex), "exercise_id": ex,
                        **exercise_figures([st for st in s_sets if st["exercise"] == ex], by_ex.get(ex, [])),
                        **progress.region_figures(events_of.get((s["id"], ex), []),
                                                  watched_regions(library.get(ex)), regions)})
    return out


def percent(value: float | None) -> float | None:
    """A fraction as a percentage rounded to PERCENT_DECIMALS (None stays None)."""
    return None if value is None else round(100 * value, PERCENT_DECIMALS)


def plain_value(key: str, value: Any) -> Any:
    """A field's value as people read it: percentages and seconds rounded to PERCENT_DECIMALS."""
    if key in PERCENT_FIELDS:
        return percent(value)
    if key in SECONDS_FIELDS and value is not None:
        return round(value, PERCENT_DECIMALS)
    return value


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as people read it: {column name: value}, percentages rounded, no ids."""
    return {title: plain_value(key, row[key]) for key, title in COLUMNS.items()}
