"""The face's regions a co-movement is watched in, and which one an event belongs to (pure).

An event names its measure; its region is that of the exercise files' `[[watch]]` of the measure
(`coach.core.exercises.REGIONS`). MEASURE_REGIONS names the shipped measures' regions for an
exercise no longer in the library. The chin and the neck have figures of their own
(`coach.core.progress.REGION_FIGURES`).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from coach.core.exercises import REGIONS, Exercise

CO_MOVEMENT_REGIONS = ("chin", "neck")          # the regions with their own figures
MEASURE_REGIONS = {"eye_opening": "eye", "brow_height": "brow", "commissure_excursion": "mouth",
                   "commissure_elevation": "mouth", "upper_lip_elevation": "mouth",
                   "chin_raise": "chin", "neck_bands": "neck"}


def watch_regions(library: Mapping[str, Exercise] | None = None) -> dict[str, str]:
    """{measure: region} of every watched co-movement (the library's watches over MEASURE_REGIONS)."""
    return {**MEASURE_REGIONS, **{w.measure: w.region for ex in (library or {}).values() for w in ex.watches}}


def watched_regions(exercise: Exercise | None) -> set[str]:
    """The regions an exercise watches (none when it is not in the library)."""
    return {w.region for w in exercise.watches} if exercise is not None else set()


def region_counts(events: Iterable[dict[str, Any]], regions: Mapping[str, str]) -> dict[str, int]:
    """{region: co-movement events} of event rows, regions from the top of the face down (a lost face
    or camera is not co-movement)."""
    counts: dict[str, int] = {}
    for e in events:
        if (e.get("kind") or "synkinesis") == "synkinesis" and (region := regions.get(e.get("measure") or "")):
            counts[region] = counts.get(region, 0) + 1
    order = list(REGIONS) + sorted(set(counts) - set(REGIONS))
    return {rg: counts[rg] for rg in order if rg in counts}


def region_series(sessions: list[dict[str, Any]], sets: Mapping[str, list[dict[str, Any]]],
                  events: list[dict[str, Any]], library: Mapping[str, Exercise], region: str) -> list[tuple[str, str, int]]:
    """The report's trend of one region (`progress.REGION_FIGURES` per session, all its exercises together):
    [(started, state or status, events)] per session in the given order, for the sessions with a set of an
    exercise that watches the region, or with events there."""
    regions, out = watch_regions(library), []
    for s in sessions:
        counts = region_counts([e for e in events if e["session_id"] == s["id"]], regions)
        watched = any(region in watched_regions(library.get(st["exercise"])) for st in sets.get(s["id"], []))
        if region in counts or watched:
            out.append((s["started"], s.get("state") or s["status"], counts.get(region, 0)))
    return out
