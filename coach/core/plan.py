"""A patient's plan: which exercises, how many reps, how long to hold and rest.

One set of defaults, one resolver, used by the home session, the kiosk, the demo
and the store alike. A bad plan is refused with one clear sentence at the moment
it is set (`parse_items`) and again when it is used (`resolve_plan`), never
quietly trimmed.

Defaults: a plan item that leaves out reps, hold or rest takes them from the
exercise file (whose own defaults are `exercises.REP_DEFAULTS`). With no
prescription at all the coach runs `DEFAULT_PLAN`: short sets of the gentlest
exercises, so a first session is over in a few minutes.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from collections.abc import Mapping, Sequence
from typing import Any

from coach.core.care import CareError, care_settings
from coach.core.exercises import MAX_REPS, MAX_SECONDS, Exercise, ExerciseError, check_amount

DEFAULT_PLAN_REPS = 3
DEFAULT_PLAN = ("gentle-smile", "gentle-eye-closure", "lip-pucker")


class PlanError(ValueError):
    """A plan that cannot be used; the message is one plain sentence."""


@dataclass(frozen=True)
class PlanItem:
    exercise: str
    reps: int | None = None           # None: the exercise file's
    hold_s: float | None = None
    rest_s: float | None = None
    thresholds: dict[str, Any] = field(default_factory=dict)   # {measure: level} per-patient overrides
    target: float | None = None       # the therapist's target; None: learned from the patient's reps
    care: dict[str, Any] | None = None  # the plan's care settings ({review_weeks, practice}: coach.core.care),
                                      # carried by its first item (the plan is stored as a list of items)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _number(item: dict[str, Any], key: str, kind: type[int] | type[float], lo: float, hi: float) -> Any:
    value = item.get(key)
    if value is None:
        return None
    try:
        if kind is int and (isinstance(value, bool) or float(value) != int(value)):
            raise ValueError
        value = kind(value)
    except (TypeError, ValueError, OverflowError):
        raise PlanError(f"{key} for {item.get('exercise')!r} must be a number, not {value!r}.") from None
    if not (math.isfinite(value) and lo <= value <= hi):
        raise PlanError(f"{key} for {item.get('exercise')!r} must be from {lo:g} to {hi:g}, not {value:g}.")
    return value


def parse_item(item: dict[str, Any]) -> PlanItem:
    """One item as stored or typed: checked, with every number finite and in range."""
    if not isinstance(item, dict):
        raise PlanError(f"A plan item must be a table of settings, not {item!r}.")
    exercise = str(item.get("exercise") or "").strip()
    if not exercise:
        raise PlanError("Every plan item needs an exercise.")
    try:
        thresholds = {str(k): check_amount(v, exercise, f"threshold {k}")
                      for k, v in (item.get("thresholds") or {}).items()}
        target = None if item.get("target") is None else check_amount(item["target"], exercise, "target")
    except ExerciseError as exc:
        raise PlanError(f"Bad {exc.field.split(' ')[0]} for {exercise}: {exc.reason}.") from None
    try:
        care = care_settings(item.get("care")) or None
    except CareError as exc:
        raise PlanError(str(exc)) from None
    return PlanItem(exercise, _number(item, "reps", int, 1, MAX_REPS), _number(item, "hold_s", float, 0.5, MAX_SECONDS),
                    _number(item, "rest_s", float, 0.0, MAX_SECONDS), thresholds, target, care)


def parse_items(items: object) -> list[PlanItem]:
    if not isinstance(items, (list, tuple)) or not items:
        raise PlanError("A plan needs at least one exercise.")
    return [item if isinstance(item, PlanItem) else parse_item(item) for item in items]


def resolve_item(library: Mapping[str, Exercise], item: PlanItem) -> Exercise:
    ex = library.get(item.exercise)
    if ex is None:
        raise PlanError(f"Unknown exercise {item.exercise!r}; known: {', '.join(sorted(library))}.")
    try:
        return ex.with_overrides(item.thresholds or None, item.reps, item.hold_s, item.rest_s, item.target)
    except ExerciseError as exc:
        raise PlanError(f"Bad threshold for {item.exercise}: {exc.reason}.") from None


def resolve_plan(library: Mapping[str, Exercise],
                 items: Sequence[PlanItem | dict[str, Any]] | None = None) -> list[Exercise]:
    """The exercises to run: `items` (dicts or PlanItems), or the default plan when there are none."""
    if not items:
        items = [PlanItem(ex_id, reps=DEFAULT_PLAN_REPS) for ex_id in DEFAULT_PLAN]
    return [resolve_item(library, item) for item in parse_items(items)]
