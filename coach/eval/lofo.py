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
from coach.eval.truth import judge, watch_family

FALSE_WEIGHT = 3          # one false alarm costs as much as three found events (patients lose trust fast)

# Grids, per exercise family, around the published figures (see the exercise files).
GRIDS: dict[str, dict[str, tuple[float, ...]]] = {
    "smile": {"threshold": (0.06, 0.08, 0.10, 0.12), "min_difference": (0.06, 0.08, 0.10, 0.12),
              "min_ratio": (1.5, 1.7, 1.8, 2.0)},
    "pucker": {"limit": (0.06, 0.07, 0.08, 0.09, 0.10, 0.11, 0.12)},
    "pull": {"threshold": (0.06, 0.08, 0.10), "min_difference": (0.03, 0.04, 0.05, 0.06),
             "min_ratio": (1.3, 1.5, 1.8), "limit": (0.12, 0.15, 0.20)},
    # The chin (lip-to-chin height read from the picture, fraction shorter) and the neck (vertical-ridge
    # energy over the neutral neck): no published norm, so grids around what healthy movement reads
    # (the real smiles: up to 0.14 on the chin and 0.24 on the neck).
    "chin": {"threshold": (0.12, 0.15, 0.20), "min_difference": (0.06, 0.10),
             "min_ratio": (1.5, 2.0), "limit": (0.30, 0.40, 0.60)},
    "neck": {"threshold": (0.25, 0.35), "min_difference": (0.2,),
             "min_ratio": (2.0, 3.0), "limit": (0.6, 1.0, 2.0)},
}


def grid(family: str) -> list[dict]:
    g = GRIDS[family]
    return [dict(zip(g, values)) for values in itertools.product(*g.values())]


def with_params(ex: Exercise, params: dict, measure: str | None = None) -> Exercise:
    """The exercise watching only `measure` (default: its first watch), with that watch's thresholds
    replaced: each watch is tuned and scored on its own."""
    w = next((w for w in ex.watches if w.measure == measure), ex.watches[0])
    return replace(ex, watches=(replace(w, **params),))


def units(ex: Exercise) -> list[tuple[str, str]]:
    """(family, measure) of every watch of an exercise that is scored: the first watch, the chin's and the
    neck's."""
    first = ex.watches[0].measure
    return [(watch_family(ex, w.measure), w.measure) for w in ex.watches
            if w.measure == first or w.measure in ("chin_raise", "neck_bands")]


def score_case(case: Case, ex: Exercise, measure: str | None = None) -> ClipScore:
    """One clip scored for one watch (default: the first), with only that watch on."""
    measure = measure or ex.watches[0].measure
    if len(ex.watches) > 1 or ex.watches[0].measure != measure:
        ex = with_params(ex, {}, measure)
    analysis = analyze_measures(case.measures, ex, None, case.baseline_s)
    assert analysis.baseline is not None, f"{case.name}: no baseline"
    judged = judge(case.truth, case.measures, analysis.baseline, ex, measure)
    unjudged = sum(analysis.judgement.get("unjudged", {}).values())
    events = [e for e in analysis.synkinesis if e.measure == measure]
    return score_clip(case.name, case.exercise, case.person, case.variant, judged, events, unjudged,
                      case.condition, ex.watches[0].region)


_WORK: dict = {}


def _sweep(k: int) -> list[ClipScore]:
    i, family, measure = _WORK["units"][k]
    case, library = _WORK["cases"][i], _WORK["library"]
    ex = library[case.exercise]
    return [score_case(case, with_params(ex, p, measure), measure) for p in grid(family)]


def case_units(cases: list[Case], library: dict, families: tuple[str, ...] = ()) -> list[tuple[int, str, str]]:
    """(case index, family, measure): every clip once per scored watch of its exercise (only `families`'
    watches when given)."""
    return [(i, fam, m) for i, c in enumerate(cases) for fam, m in units(library[c.exercise])
            if not families or fam in families]


def sweep(cases: list[Case], library: dict, jobs: int | None = None,
          families: tuple[str, ...] = ()) -> dict[tuple[int, str], list[ClipScore]]:
    """Every (case, family) scored at every grid point of the family: scores[(case, family)][grid index]."""
    todo = case_units(cases, library, families)
    _WORK.update(cases=cases, library=library, units=todo)
    jobs = jobs or os.cpu_count() or 1
    try:
        if jobs == 1:
            got = [_sweep(k) for k in range(len(todo))]
        else:
            with mp.get_context("fork").Pool(jobs) as pool:
                got = pool.map(_sweep, range(len(todo)), chunksize=2)
    finally:
        _WORK.clear()
    return {(i, fam): g for (i, fam, _), g in zip(todo, got)}


def objective(scores: list[ClipScore]) -> float:
    t = totals(scores)
    return t["found"] + sum(c.side_ok for c in scores) - FALSE_WEIGHT * t["false_alarms"]


def _choose(family: str, idx: list[tuple[int, str]], sweeps, shipped: dict) -> int:
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


def leave_one_face_out(cases: list[Case], library: dict, jobs: int | None = None,
                       families: tuple[str, ...] = ()) -> LofoResult:
    """Held-out scores of every family (or only `families`: smile, pucker, pull, chin, neck)."""
    sweeps = sweep(cases, library, jobs, families)
    held: dict[tuple[int, str], ClipScore] = {}
    chosen: dict = {c.person: {} for c in cases}
    all_faces = {}
    for f in sorted({f for _, f in sweeps}):
        idx = [key for key in sweeps if key[1] == f]
        shipped = _shipped(library, f)
        for person in sorted({cases[i].person for i, _ in idx}):
            train = [key for key in idx if cases[key[0]].person != person]
            j = _choose(f, train, sweeps, shipped) if train else 0
            chosen[person][f] = grid(f)[j]
            held.update({key: sweeps[key][j] for key in idx if cases[key[0]].person == person})
        all_faces[f] = grid(f)[_choose(f, idx, sweeps, shipped)]
    return LofoResult([held[k] for k in sorted(held)], chosen, all_faces)


def _shipped(library: dict, family: str) -> dict:
    """The thresholds the exercise files ship for a family's watch."""
    for ex in library.values():
        for fam, measure in units(ex):
            if fam == family:
                w = next(w for w in ex.watches if w.measure == measure)
                return {k: getattr(w, k) for k in GRIDS[family]}
    return {}
