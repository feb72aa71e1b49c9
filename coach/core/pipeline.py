"""frames → measures → baseline → detector: the whole analysis, pure and streaming.

The baseline is the first `baseline_s` seconds in which a face is seen (a clip
may start before the patient sits down). Frames are buffered until the baseline
is fitted, then everything runs through the detector in order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from coach.core.calibration import Baseline, CalibrationError, fit_baseline, relative
from coach.core.detector import Detector
from coach.core.events import Rep, Synkinesis
from coach.core.exercises import Exercise
from coach.core.frames import LandmarkFrame
from coach.core.measures import Measures, measure


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

    def to_json(self, clip: str, fps: float) -> dict:
        """The stable JSON of `coach analyze` (documented in the README)."""
        return {"clip": clip, "fps": round(fps, 3), "frames": self.frames, "face_frames": self.face_frames,
                "exercise": self.exercise,
                "reps": [r.to_dict() for r in self.reps],
                "synkinesis": [{"side": e.side, "measure": e.measure, "start_s": e.start_s, "end_s": e.end_s,
                                "peak_change": e.peak_change, "control_change": e.control_change,
                                "kind": e.kind} for e in self.synkinesis],
                "baseline": self.baseline.to_dict() if self.baseline else None}


def analyze(frames: Iterable[LandmarkFrame], exercise: Exercise, affected_side: str | None = None,
            baseline_s: float = 1.0) -> Analysis:
    result = Analysis(exercise.id)
    detector = Detector(exercise, affected_side)
    pending: list[Measures] = []
    first_face_t: float | None = None
    baseline: Baseline | None = None
    last_t = 0.0
    for frame in frames:
        result.frames += 1
        last_t = frame.t
        m = measure(frame)
        if m.face:
            result.face_frames += 1
            if first_face_t is None:
                first_face_t = m.t
        if baseline is None:
            pending.append(m)
            if first_face_t is not None and m.t - first_face_t >= baseline_s:
                baseline = _fit(pending)
                for pm in pending:
                    detector.update(relative(pm, baseline), pm.t)
                pending = []
            continue
        detector.update(relative(m, baseline), m.t)
    if baseline is None:
        if result.face_frames == 0:
            raise NoFaceError("no face was found")
        baseline = _fit(pending)  # a clip shorter than the baseline window
        for pm in pending:
            detector.update(relative(pm, baseline), pm.t)
    detector.finish()
    result.baseline = baseline
    result.reps = list(detector.reps)
    result.synkinesis = list(detector.events)
    result.duration_s = last_t
    return result


def _fit(measures: list[Measures]) -> Baseline:
    try:
        return fit_baseline(measures)
    except CalibrationError as exc:
        raise NoFaceError(str(exc)) from None
