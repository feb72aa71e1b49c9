"""`coach eval DIR`: the detector against ground truth, not against itself.

Each clip in DIR with a `NAME.truth.json` (written by `coach.synth`) is analysed
and compared with what was injected. Amounts are judged as the tracker measures
them, not as they were injected (MediaPipe sees much less than a warp puts in),
so each truth event is first sorted by what was measured:

- must be flagged: the injected side's eye opening falls at least twice as much
  as the other eye's and at least 12 points more, or a mouth corner pulls at
  least 10 % of the mouth width, held for at least 0.5 s;
- must not be flagged: clean and blink-only clips, clips whose eyes narrow
  within a ratio of 1.6 of each other (a normal smile), clips with the mouth still;
- in between: reported, but neither a miss nor a false alarm.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from coach.core.calibration import REL_INDEX, relative
from coach.core.exercises import Exercise
from coach.core.face import SIDES
from coach.core.measures import measure
from coach.core.pipeline import Analysis

MUST_EYE_RATIO = 2.0
MUST_EYE_DIFF = 0.12
MUST_MOUTH_PULL = 0.10
MUST_HELD_S = 0.5
NORMAL_RATIO = 1.6        # both eyes within this ratio: a normal smile …
NORMAL_DIFF = 0.10        # … even when they read 10 points apart
MOUTH_STILL = 0.8 * MUST_MOUTH_PULL   # a corner moving less than this counts as a still mouth
MATCH_SLACK_S = 0.3       # a detection matches a truth event it overlaps, give or take this
ONSET_LIMIT_S = 0.3


@dataclass
class ClipScore:
    clip: str
    exercise: str
    must: int = 0            # truth events that must be flagged
    gray: int = 0            # truth events (or clean clips) in between
    hits: int = 0            # must-events found
    side_ok: int = 0         # hits on the correct side
    detected: int = 0
    false_alarms: int = 0    # detections matching no truth event
    clean: bool = False      # a clip that must have no event
    onset_errors: list = field(default_factory=list)
    note: str = ""


def _rel_series(frames, analysis: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """Times and relative measures (n, len(REL), 2) of the frames with a face, computed once per clip."""
    ts, rels = [], []
    for f in frames:
        rel = relative(measure(f), analysis.baseline)
        if rel is not None:
            ts.append(f.t)
            rels.append(rel)
    return np.array(ts), np.array(rels).reshape(len(rels), -1, 2)


def _amounts(series, measure_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame co-movement amounts (> 0 = co-movement) for both sides, and times."""
    ts, rels = series
    direction = -1.0 if measure_name == "eye_opening" else 1.0
    return ts, direction * rels[:, REL_INDEX[measure_name]]


def _longest_run(ts: np.ndarray, ok: np.ndarray) -> float:
    best, start = 0.0, None
    for t, flag in zip(ts, ok):
        if flag and start is None:
            start = t
        if flag:
            best = max(best, t - start)
        else:
            start = None
    return best


def _criteria(a: np.ndarray, o: np.ndarray, measure_name: str) -> np.ndarray:
    if measure_name == "eye_opening":
        return (a - o >= MUST_EYE_DIFF) & (a >= MUST_EYE_RATIO * np.maximum(o, 0.0))
    return a >= MUST_MOUTH_PULL


def score_clip(truth: dict, frames, analysis: Analysis, exercise: Exercise) -> ClipScore:
    score = ClipScore(truth["clip"], truth.get("exercise", exercise.id))
    events = list(analysis.synkinesis)
    score.detected = len(events)
    matched: set[int] = set()
    truths = truth.get("synkinesis", [])
    series = _rel_series(frames, analysis)
    for te in truths:
        m = te.get("measure") or exercise.watches[0].measure
        ts, am = _amounts(series, m)
        si = SIDES.index(te["side"])
        window = (ts >= te["start_s"]) & (ts <= te["end_s"])
        run = _longest_run(ts[window], _criteria(am[window, si], am[window, 1 - si], m))
        must = run >= MUST_HELD_S
        hit = [i for i, e in enumerate(events) if e.measure == m
               and e.start_s <= te["end_s"] + MATCH_SLACK_S and e.end_s >= te["start_s"] - MATCH_SLACK_S]
        matched.update(hit)
        if not must:
            score.gray += 1
            continue
        score.must += 1
        if hit:
            score.hits += 1
            best = min(hit, key=lambda i: abs(events[i].start_s - te["start_s"]))
            score.side_ok += events[best].side == te["side"]
            score.onset_errors.append(round(abs(events[best].start_s - te["start_s"]), 3))
    if not truths:
        score.clean = _clean(series, exercise)
        if not score.clean:
            score.gray += 1
            score.note = "co-movement between normal and synkinetic as measured"
    score.false_alarms = len([i for i in range(len(events)) if i not in matched]) if (truths or score.clean) else 0
    return score


def _clean(series, exercise: Exercise) -> bool:
    """A clip with no injected synkinesis must stay silent unless it measures as in between."""
    for w in exercise.watches:
        ts, am = _amounts(series, w.measure)
        for si in (0, 1):
            a, o = am[:, si], am[:, 1 - si]
            if w.measure == "eye_opening":
                odd = (a - o >= NORMAL_DIFF) & (a > NORMAL_RATIO * np.maximum(o, 0.0)) & (a > NORMAL_DIFF)
            else:
                odd = a >= MOUTH_STILL
            if _longest_run(ts, odd) >= MUST_HELD_S:
                return False
    return True


@dataclass
class EvalSummary:
    clips: list[ClipScore]

    def totals(self) -> dict:
        must = sum(c.must for c in self.clips)
        hits = sum(c.hits for c in self.clips)
        detected = sum(c.detected for c in self.clips if c.must or c.clean or c.false_alarms)
        fa = sum(c.false_alarms for c in self.clips)
        onsets = [e for c in self.clips for e in c.onset_errors]
        return {
            "clips": len(self.clips),
            "must_flag": must,
            "recall": hits / must if must else None,
            "precision": (detected - fa) / detected if detected else None,
            "side_accuracy": sum(c.side_ok for c in self.clips) / hits if hits else None,
            "events_on_clean_clips": sum(c.detected for c in self.clips if c.clean),
            "clean_clips": sum(c.clean for c in self.clips),
            "in_between": sum(c.gray for c in self.clips),
            "onset_error_median_s": float(np.median(onsets)) if onsets else None,
            "onset_error_max_s": float(max(onsets)) if onsets else None,
        }

    def table(self) -> str:
        rows = ["| clip | exercise | must flag | found | side ok | detected | false alarms | clean | onset err s |",
                "|---|---|---|---|---|---|---|---|---|"]
        for c in self.clips:
            onset = ", ".join(f"{e:.2f}" for e in c.onset_errors) or "–"
            rows.append(f"| {c.clip} | {c.exercise} | {c.must} | {c.hits} | {c.side_ok} | {c.detected} | "
                        f"{c.false_alarms} | {'yes' if c.clean else ('in between' if c.gray and not c.must else 'no')} | {onset} |")
        t = self.totals()
        fmt = lambda v: "–" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v))
        rows.append("")
        rows.append(f"Overall: recall {fmt(t['recall'])} ({t['must_flag']} must-flag events), precision "
                    f"{fmt(t['precision'])}, side accuracy {fmt(t['side_accuracy'])}, events on clean clips "
                    f"{t['events_on_clean_clips']} (of {t['clean_clips']} clean clips), onset error median "
                    f"{fmt(t['onset_error_median_s'])} s, max {fmt(t['onset_error_max_s'])} s, "
                    f"{t['in_between']} in between.")
        return "\n".join(rows)


def truth_files(folder: str | Path) -> list[Path]:
    return sorted(Path(folder).glob("*.truth.json"))


def load_truth(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def run_eval(folder: str | Path, use_landmarks: bool = False, model: str | None = None) -> EvalSummary:
    """Analyse every clip that has a truth file; one tracker serves them all."""
    from coach.analysis import load_frames
    from coach.core.exercises import load_library
    from coach.core.pipeline import analyze
    from coach.errors import InputError

    folder = Path(folder)
    library, _ = load_library()
    truths = truth_files(folder)
    if not truths:
        raise InputError(f"No *.truth.json files in {folder}.")
    tracker = None
    scores = []
    try:
        for tpath in truths:
            truth = load_truth(tpath)
            name = tpath.name[: -len(".truth.json")]
            stream = folder / f"{name}.landmarks.npz"
            clip = stream if use_landmarks and stream.exists() else folder / truth["clip"]
            if not clip.suffix == ".npz" and tracker is None:
                from coach.io.tracker import Tracker
                tracker = Tracker(model)
            _, frames = load_frames(clip, model, tracker)
            exercise = library[truth["exercise"]]
            baseline_s = float(truth.get("baseline_s", [0, 1.0])[1])
            analysis = analyze(frames, exercise, None, baseline_s)
            scores.append(score_clip(truth, frames, analysis, exercise))
    finally:
        if tracker is not None:
            tracker.close()
    return EvalSummary(scores)
