"""Thresholds chosen by leave-one-face-out, and scored only on the face left out.

For each face (person), the co-movement thresholds of each exercise family are
chosen on the clips of every *other* face, from a fixed grid around the published
figures, by the objective below; the face left out is then scored with them. No
threshold is ever chosen while looking at the score of the face it is tested on.
The summary adds up the held-out scores only. The thresholds chosen on all faces
are reported too: they are what the exercise files ship (a new face is, for
them, what a held-out face is here).
"""
from __future__ import annotations

import itertools
import multiprocessing as mp
import os
from dataclasses import dataclass, replace

from coach.core.exercises import Exercise
from coach.core.pipeline import analyze_measures
from coach.eval.cases import Case
from coach.eval.score import ClipScore, score_clip, totals
from coach.eval.truth import FAMILY, judge

FALSE_WEIGHT = 3          # one false alarm costs as much as three found events (patients lose trust fast)

# Grids, per exercise family, around the published figures (see the exercise files).
GRIDS: dict[str, dict[str, tuple[float, ...]]] = {
    "smile": {"threshold": (0.06, 0.08, 0.10, 0.12), "min_difference": (0.06, 0.08, 0.10, 0.12),
              "min_ratio": (1.5, 1.7, 1.8, 2.0)},
    "pucker": {"limit": (0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12)},
    "pull": {"threshold": (0.06, 0.08, 0.10), "min_difference": (0.03, 0.04, 0.05, 0.06),
             "min_ratio": (1.3, 1.5, 1.8), "limit": (0.12, 0.15, 0.20)},
}


def grid(family: str) -> list[dict]:
    g = GRIDS[family]
    return [dict(zip(g, values)) for values in itertools.product(*g.values())]


def with_params(ex: Exercise, params: dict) -> Exercise:
    """The exercise with its first watch's thresholds replaced."""
    w = replace(ex.watches[0], **params)
    return replace(ex, watches=(w, *ex.watches[1:]))


def score_case(case: Case, ex: Exercise) -> ClipScore:
    analysis = analyze_measures(case.measures, ex, None, case.baseline_s)
    assert analysis.baseline is not None, f"{case.name}: no baseline"
    judged = judge(case.truth, case.measures, analysis.baseline, ex)
    unjudged = sum(analysis.judgement.get("unjudged", {}).values())
    return score_clip(case.name, case.exercise, case.person, case.variant, judged, analysis.synkinesis, unjudged,
                      case.condition, case.region)


_WORK: dict = {}


def _sweep(i: int) -> list[ClipScore]:
    case, library = _WORK["cases"][i], _WORK["library"]
    ex = library[case.exercise]
    return [score_case(case, with_params(ex, p)) for p in grid(FAMILY[case.exercise])]


def sweep(cases: list[Case], library: dict, jobs: int | None = None) -> list[list[ClipScore]]:
    """Every case scored at every grid point of its family: scores[case][grid index]."""
    _WORK.update(cases=cases, library=library)
    jobs = jobs or os.cpu_count() or 1
    try:
        if jobs == 1:
            return [_sweep(i) for i in range(len(cases))]
        with mp.get_context("fork").Pool(jobs) as pool:
            return pool.map(_sweep, range(len(cases)), chunksize=2)
    finally:
        _WORK.clear()


def objective(scores: list[ClipScore]) -> float:
    t = totals(scores)
    return t["found"] + sum(c.side_ok for c in scores) - FALSE_WEIGHT * t["false_alarms"]


def _choose(family: str, idx: list[int], sweeps, shipped: dict) -> int:
    """The grid point with the best objective on these cases; ties go to the one nearest the shipped values."""
    points = grid(family)

    def distance(p: dict) -> float:
        return sum(abs(GRIDS[family][k].index(v) - _nearest(GRIDS[family][k], shipped.get(k, v)))
                   for k, v in p.items())

    best = max(range(len(points)), key=lambda j: (objective([sweeps[i][j] for i in idx]), -distance(points[j])))
    return best


def _nearest(values: tuple, x: float) -> int:
    return min(range(len(values)), key=lambda k: abs(values[k] - x))


@dataclass
class LofoResult:
    held_out: list[ClipScore]            # each clip scored with thresholds chosen without its face
    chosen: dict                         # person -> family -> params
    all_faces: dict                      # family -> params chosen on every face (what ships)


def leave_one_face_out(cases: list[Case], library: dict, jobs: int | None = None) -> LofoResult:
    sweeps = sweep(cases, library, jobs)
    families = sorted({FAMILY[c.exercise] for c in cases})
    held: dict[int, ClipScore] = {}
    chosen: dict = {c.person: {} for c in cases}
    all_faces = {}
    for f in families:
        idx = [i for i, c in enumerate(cases) if FAMILY[c.exercise] == f]
        shipped = _shipped(library, f)
        for person in sorted({cases[i].person for i in idx}):
            train = [i for i in idx if cases[i].person != person]
            j = _choose(f, train, sweeps, shipped) if train else 0
            chosen[person][f] = grid(f)[j]
            held.update({i: sweeps[i][j] for i in idx if cases[i].person == person})
        all_faces[f] = grid(f)[_choose(f, idx, sweeps, shipped)]
    return LofoResult([held[i] for i in sorted(held)], chosen, all_faces)


def _shipped(library: dict, family: str) -> dict:
    ex = next(e for eid, e in library.items() if FAMILY.get(eid) == family)
    w = ex.watches[0]
    return {k: getattr(w, k) for k in GRIDS[family]}
