"""`coach eval DIR`: measure every clip once, score, and print per face and per variant.

With `--lofo` the scores are leave-one-face-out (the honest figure); without it,
the clips are scored with the thresholds the exercise files ship.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import asdict, dataclass

from coach.eval.cases import Case, load_cases
from coach.eval.lofo import LofoResult, case_units, leave_one_face_out, score_case
from coach.eval.score import ClipScore, summary_line, table, totals

_CASES: list = []


@dataclass
class EvalReport:
    scores: list[ClipScore]
    lofo: LofoResult | None = None

    def totals(self) -> dict:
        return totals(self.scores)

    def text(self) -> str:
        head = ("Leave-one-face-out: each face scored with thresholds chosen on the other faces."
                if self.lofo else "Scored with the thresholds the exercise files ship.")
        first = [c for c in self.scores if c.region in ("eye", "brow", "mouth")]
        parts = [head, "", "The eyes and the mouth corners (each exercise's first watch):", "",
                 table(first, "person"), "", table(first, "variant"), "", table(first, "condition"), "",
                 "Overall: " + summary_line(totals(first)) + "."]
        for region in ("chin", "neck"):
            mine = [c for c in self.scores if c.region == region]
            if mine:
                parts += ["", f"The {region}:", "", table(mine, "person"), "", table(mine, "variant"), "",
                          f"Overall ({region}): " + summary_line(totals(mine)) + "."]
        parts += ["", "By region:", "", table(self.scores, "region")]
        if self.lofo:
            parts += ["", "Thresholds chosen on all faces (what ships):"]
            parts += [f"  {fam}: {_params(p)}" for fam, p in sorted(self.lofo.all_faces.items())]
            parts += ["Thresholds chosen per held-out face:"]
            parts += [f"  {person}: " + "; ".join(f"{fam} {_params(p)}" for fam, p in sorted(fams.items()))
                      for person, fams in sorted(self.lofo.chosen.items())]
        return "\n".join(parts)

    def to_json(self) -> dict:
        out = {"totals": self.totals(), "clips": [asdict(c) for c in self.scores]}
        if self.lofo:
            out["lofo"] = {"chosen_per_face": self.lofo.chosen, "chosen_on_all_faces": self.lofo.all_faces}
        return out


def _params(p: dict) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in p.items())


def _score_shipped(k: int) -> ClipScore:
    case, library, measure = _CASES[k]
    return score_case(case, library[case.exercise], measure)


def score_shipped(cases: list[Case], library: dict, jobs: int | None = None) -> list[ClipScore]:
    """Every clip scored once per scored watch of its exercise, with the shipped thresholds."""
    _CASES[:] = [(cases[i], library, m) for i, _, m in case_units(cases, library)]
    try:
        with mp.get_context("fork").Pool(jobs or os.cpu_count() or 1) as pool:
            return pool.map(_score_shipped, range(len(_CASES)))
    finally:
        _CASES.clear()


def run_eval(folder, use_landmarks: bool = False, model: str | None = None, lofo: bool = False,
             jobs: int | None = None, progress=None, library: dict | None = None) -> EvalReport:
    from coach.core.exercises import load_library

    library = library or load_library()[0]
    cases = load_cases(folder, use_landmarks, model, jobs, progress)
    unknown = sorted({c.exercise for c in cases} - set(library))
    if unknown:
        from coach.errors import InputError
        raise InputError(f"Truth files name unknown exercises: {', '.join(unknown)}.")
    if lofo:
        result = leave_one_face_out(cases, library, jobs)
        return EvalReport(result.held_out, result)
    return EvalReport(score_shipped(cases, library, jobs))
