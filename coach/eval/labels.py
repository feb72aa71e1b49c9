"""The detector against the therapist's labels (`coach eval --labels CODE|all`, `coach eval SET`).

Scores
    Per patient and per exercise: recall (labelled yes and flagged, of labelled yes), precision
    (labelled yes, of flagged), side accuracy (of the reps labelled yes and flagged, those flagged on
    the side the therapist named) and the confusion table. The detector's flags are the ones it
    logged during the session (what the patient saw).

Thresholds
    Where the reps' landmark streams are at hand, each labelled rep is measured once and the detector
    re-run on it at candidate thresholds of the exercise's watched measure; the threshold that agrees
    with the most labels (the current one if it does as well as any, else the middle one of those that
    agree the most, for a margin either way) is suggested, with
    what it changes against a re-run at the current threshold, and the `coach plan set` that applies
    it. Re-runs start 1.2 s before the rep's onset (the rest before it is the baseline). Nothing is
    suggested from fewer than MIN_REPS labelled reps of an exercise.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from coach.core.exercises import Exercise

PRE_S, POST_S = 1.2, 0.6                 # the window a rep is re-run on, around onset and return
MIN_REPS = 10                            # fewer labelled reps of an exercise: no threshold is suggested
CANDIDATES = tuple(round(0.02 * k, 2) for k in range(2, 31))     # 0.04 … 0.60
Frames = Callable[[], list]


@dataclass
class Item:
    """One labelled rep: who (a code or an anonymous id), the exercise, the detector's logged verdict,
    the therapist's label, and the rep's frames (a loader; None when no stream is at hand)."""
    patient: str
    exercise: str
    flagged: bool
    flagged_side: str
    label: bool
    side: str
    start_s: float
    end_s: float
    affected_side: str | None = None
    thresholds: dict[str, float] = field(default_factory=dict)   # the patient's plan's, for this exercise
    frames: Frames | None = None


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    side_right: int = 0

    def add(self, item: Item) -> None:
        if item.label and item.flagged:
            self.tp += 1
            self.side_right += item.flagged_side == item.side
        elif item.flagged:
            self.fp += 1
        elif item.label:
            self.fn += 1
        else:
            self.tn += 1


def ratio(part: int, whole: int) -> str:
    return f"{part / whole:.2f} ({part}/{whole})" if whole else "— (0/0)"


def score_line(name: str, s: Score) -> str:
    n = s.tp + s.fp + s.fn + s.tn
    return (f"{name}: {n} reps, recall {ratio(s.tp, s.tp + s.fn)}, precision {ratio(s.tp, s.tp + s.fp)}, "
            f"side accuracy {ratio(s.side_right, s.tp)}")


def confusion(s: Score) -> list[str]:
    return ["                 labelled yes   labelled no",
            f"  flagged        {s.tp:>12}   {s.fp:>11}",
            f"  not flagged    {s.fn:>12}   {s.tn:>11}"]


def scores(items: list[Item]) -> tuple[Score, dict[str, Score], dict[tuple[str, str], Score]]:
    total = Score()
    per_patient: dict[str, Score] = {}
    per_exercise: dict[tuple[str, str], Score] = {}
    for it in items:
        for s in (total, per_patient.setdefault(it.patient, Score()),
                  per_exercise.setdefault((it.patient, it.exercise), Score())):
            s.add(it)
    return total, per_patient, per_exercise


# ---- re-running the detector --------------------------------------------------------------
def flags_at(ex: Exercise, measure: str, values: tuple[float, ...], items: list[Item]) -> dict[float, list[bool]]:
    """{threshold: whether each item's rep is flagged when re-run at it}."""
    from coach.core.measures import measure as measure_frame
    from coach.core.pipeline import NoFaceError, analyze_measures

    out: dict[float, list[bool]] = {v: [] for v in values}
    for it in items:
        frames = it.frames() if it.frames else []
        ms = [measure_frame(f) for f in frames]
        for v in values:
            flagged = False
            if ms:
                try:
                    result = analyze_measures(iter(ms), ex.with_overrides({**it.thresholds, measure: v}),
                                              it.affected_side, baseline_s=1.0)
                    flagged = any(e.start_s <= it.end_s and e.end_s >= it.start_s for e in result.synkinesis)
                except NoFaceError:
                    pass
            out[v].append(flagged)
    return out


def suggest(ex: Exercise, items: list[Item], plan_cmd: Callable[[str, float], str] | None = None) -> list[str]:
    """Sentences: the threshold that best fits the labels of one patient's reps of one exercise."""
    items = [it for it in items if it.frames is not None]
    if not items or not ex.watches:
        return []
    if len(items) < MIN_REPS:
        return [f"{ex.id}: {len(items)} labelled rep{'s' if len(items) > 1 else ''} with a stream; label at least "
                f"{MIN_REPS} to have a threshold suggested."]
    out = []
    for watch in ex.watches:
        current = items[0].thresholds.get(watch.measure, watch.threshold)
        values = tuple(sorted(set(CANDIDATES) | {round(current, 4)}))
        flags = flags_at(ex, watch.measure, values, items)

        def agree(v: float) -> int:
            return sum(f == it.label for f, it in zip(flags[v], items))
        top = max(agree(v) for v in values)
        fits = [v for v in values if agree(v) == top]
        # The current one if it fits as well as any; else the middle of the best (a margin either way).
        best = current if current in fits else fits[len(fits) // 2]
        now = flags[current]
        if best == current:
            out.append(f"{ex.id}: the threshold {current:g} ({watch.measure}) fits your labels best "
                       f"({agree(current)} of {len(items)} reps agree on re-running); keep it.")
            continue
        more = [it for f0, f1, it in zip(now, flags[best], items) if f1 and not f0]
        fewer = [it for f0, f1, it in zip(now, flags[best], items) if f0 and not f1]

        def told(reps: list[Item]) -> str:
            yes = sum(it.label for it in reps)
            if not reps:
                return ""
            return "all labelled yes" if yes == len(reps) else "all labelled no" if not yes else \
                f"{yes} labelled yes, {len(reps) - yes} labelled no"
        changes = []
        if more:
            changes.append(f"{len(more)} more rep{'s' if len(more) > 1 else ''} flagged, {told(more)}")
        if fewer:
            changes.append(f"{len(fewer)} fewer flagged, {told(fewer)}")
        line = (f"{ex.id}: with threshold {best:g} instead of {current:g} ({watch.measure}): "
                f"{'; '.join(changes)} (agreement with your labels {agree(current)} → {agree(best)} of "
                f"{len(items)}, re-run on the saved streams).")
        if plan_cmd:
            line += f"\n    Apply it: {plan_cmd(watch.measure, best)}"
        out.append(line)
    return out


def report(items: list[Item], library: dict[str, Exercise],
           plan_cmd: Callable[[str, str, str, float], str] | None = None) -> str:
    """The whole printout: totals, per patient and per exercise with their confusion tables, and the
    suggested thresholds."""
    if not items:
        return "No labelled reps yet: label some with coach label CODE."
    total, per_patient, per_exercise = scores(items)
    lines = [score_line("All labelled reps", total), *confusion(total), ""]
    for patient, s in per_patient.items():
        lines.append(score_line(f"Patient {patient}", s))
        for (p, exercise), se in per_exercise.items():
            if p == patient:
                lines += [score_line(f"  {exercise}", se), *["  " + ln for ln in confusion(se)]]
        lines.append("")
    suggestions: list[str] = []
    no_stream = sum(it.frames is None for it in items)
    for (patient, exercise), _ in per_exercise.items():
        if exercise not in library:
            continue
        mine = [it for it in items if it.patient == patient and it.exercise == exercise]
        cmd = (lambda m, v, p=patient, e=exercise: plan_cmd(p, e, m, v)) if plan_cmd else None
        suggestions += [f"{patient} {s}" for s in suggest(library[exercise], mine, cmd)]
    if suggestions:
        lines += ["Suggested thresholds, from the labels:", *suggestions]
    if no_stream:
        lines.append(f"{no_stream} labelled rep{'s' if no_stream > 1 else ''} had no landmark stream at hand "
                     "(give the folders with --streams), so they were scored but not re-run.")
    return "\n".join(lines).rstrip()
