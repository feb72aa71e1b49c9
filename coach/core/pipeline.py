"""frames → measures → baseline → quality gate → detector: the whole analysis, pure and streaming.

The baseline is the first `baseline_s` seconds in which a face is seen (a clip
may start before the patient sits down). Frames are buffered until the baseline
is fitted, then everything runs through the quality gate and the detector in
order. Frames the gate rules out are counted, with the reason, in `judgement`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from coach.core.calibration import Baseline, CalibrationError, fit_baseline, relative
from coach.core.detector import Detector
from coach.core.events import Rep, Synkinesis
from coach.core.exercises import Exercise
from coach.core.frames import LandmarkFrame
from coach.core.measures import Measures, measure
from coach.core.quality import QualityGate


class NoFaceError(ValueError):
    """No usable face in the clip."""


@dataclass
class Analysis:
    exercise: str
    frames: int = 0
    face_frames: int = 0
    baseline: Baseline | None = None
    reps: list[Rep] = field(default_factory=list)
    synkinesis: list[Synkinesis] = field(default_factory=list)
    duration_s: float = 0.0
    first_face_s: float | None = None               # when a face was first seen (the baseline starts there)
    target: dict[str, Any] = field(default_factory=dict)      # the prime movement's target: start, end, how it was set
    judgement: dict[str, Any] = field(default_factory=dict)   # {"judged": n, "unjudged": {reason: n}, "spans": [...]}

    def to_json(self, clip: str, fps: float) -> dict[str, Any]:
        """The stable JSON of `coach analyze` (documented in the README)."""
        return {"clip": clip, "fps": round(fps, 3), "frames": self.frames, "face_frames": self.face_frames,
                "exercise": self.exercise,
                "reps": [r.to_dict() for r in self.reps],
                "synkinesis": [{"side": e.side, "measure": e.measure, "start_s": e.start_s, "end_s": e.end_s,
                                "peak_change": e.peak_change, "control_change": e.control_change,
                                "kind": e.kind} for e in self.synkinesis],
                "target": self.target,
                "frames_judged": self.judgement.get("judged", 0),
                "frames_unjudged": self.judgement.get("unjudged", {}),
                "unjudged_spans": self.judgement.get("spans", []),
                "frames_partly_out": self.judgement.get("partly_out", {}),
                "baseline": self.baseline.to_dict() if self.baseline else None}


def analyze(frames: Iterable[LandmarkFrame], exercise: Exercise, affected_side: str | None = None,
            baseline_s: float = 1.0, start_target: float | None = None) -> Analysis:
    return analyze_measures((measure(f) for f in frames), exercise, affected_side, baseline_s, start_target)


def analyze_measures(measures: Iterable[Measures], exercise: Exercise, affected_side: str | None = None,
                     baseline_s: float = 1.0, start_target: float | None = None) -> Analysis:
    """The same, from measures already taken (the evaluation measures each clip once)."""
    result = Analysis(exercise.id)
    pending: list[Measures] = []
    first_face_t: float | None = None
    run: _Run | None = None
    last_t = 0.0
    for m in measures:
        result.frames += 1
        last_t = m.t
        if m.face:
            result.face_frames += 1
            if first_face_t is None:
                first_face_t = m.t
        if run is None:
            pending.append(m)
            if first_face_t is not None and m.t - first_face_t >= baseline_s:
                run = _Run(_fit(pending), exercise, affected_side, start_target)
                run.feed(pending)
                pending = []
            continue
        run.feed((m,))
    if run is None:
        if result.face_frames == 0:
            raise NoFaceError("no face was found")
        run = _Run(_fit(pending), exercise, affected_side, start_target)  # a clip shorter than the baseline window
        run.feed(pending)
    run.detector.finish()
    det = run.detector
    result.baseline = run.baseline
    result.reps = list(det.reps)
    result.synkinesis = list(det.events)
    result.duration_s = last_t
    result.first_face_s = first_face_t
    result.target = {"start": round(start_target if start_target is not None and not exercise.prime.fixed
                                    else exercise.prime.target, 4),
                     "end": round(det.target, 4), "source": det.learner.source,
                     "movement_gate": round(det.gate, 4)}
    result.judgement = {"judged": run.judged, "unjudged": dict(sorted(run.unjudged.items())),
                        "partly_out": dict(sorted(run.partly_out.items())),
                        "spans": [_span(*s) for s in run.spans]}
    return result


def _span(start: float, end: float, reason: str, part: str) -> dict[str, object]:
    """An unjudged span for the JSON; out of frame, it names the part of the face out of the picture."""
    out = {"start_s": round(start, 3), "end_s": round(end, 3), "reason": reason}
    if part:
        out["part"] = part
    return out


class _Run:
    """One baseline's worth of analysis: quality gate and detector, fed in time order."""

    def __init__(self, baseline: Baseline, exercise: Exercise, affected_side: str | None,
                 start_target: float | None):
        self.baseline = baseline
        self.gate = QualityGate.for_exercise(baseline.pose, exercise)
        self.detector = Detector(exercise, affected_side, noise=baseline.noise, start_target=start_target)
        self.judged = 0
        self.unjudged: dict[str, int] = {}
        self.partly_out: dict[str, int] = {}   # frames with part of the face out of the picture, by part
        self.spans: list[list[Any]] = []      # [start_s, end_s, reason, part] of consecutive unjudged frames
        self._open = False

    def feed(self, measures: Iterable[Measures]) -> None:
        for m in measures:
            if m.face and m.inside and m.inside["face"][0] < 0:
                part = m.inside["face"][1]
                self.partly_out[part] = self.partly_out.get(part, 0) + 1
            reason = self.gate.check(m)
            if reason is None:
                self.judged += 1
                self._open = False
            else:
                self.unjudged[reason] = self.unjudged.get(reason, 0) + 1
                part = self.gate.part
                last = self.spans[-1] if self._open else None
                if last and (reason == "settling" or (reason == last[2] and part == last[3])):
                    last[1] = m.t                        # the same span goes on (settling extends it)
                else:
                    self.spans.append([m.t, m.t, reason, part])
                    self._open = True
            self.detector.update(relative(m, self.baseline), m.t, judged=reason is None)


def _fit(measures: list[Measures]) -> Baseline:
    try:
        return fit_baseline(measures)
    except CalibrationError as exc:
        raise NoFaceError(str(exc)) from None
