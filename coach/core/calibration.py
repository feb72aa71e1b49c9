"""The patient's own neutral baseline, and every measure relative to it.

Healthy faces are 7–9 % asymmetric in motion, and eyes narrow 21.6 % (SD 13.4)
in a normal smile, so population norms are a poor yardstick: each patient is
compared with their own neutral face, side by side.

Relative measures (`REL`), per side:
  eye_opening           fraction of the neutral fissure height (−0.30 = 30 % narrower)
  brow_height           fraction of the neutral brow height (+0.2 = brow 20 % higher)
  commissure_excursion  mouth-corner displacement from its neutral place, as a fraction
                        of the neutral mouth width; + when it moves up and/or out
  commissure_elevation  the corner's vertical part only (+ = up), fraction of mouth width
  upper_lip_elevation   upper lip over the canine (+ = up, a snarl), fraction of mouth width
  mouth_width           this side's half of the mouth, fraction of neutral (− = pucker)
  mouth_open            inner-lip gap, fraction of mouth width
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from coach.core.measures import INDEX, MEASURES, Measures, mm_per_iod

REL = ("eye_opening", "brow_height", "commissure_excursion", "commissure_elevation",
       "upper_lip_elevation", "mouth_width", "mouth_open")
REL_INDEX = {name: i for i, name in enumerate(REL)}

MIN_BASELINE_FRAMES = 5
# Keep the calmest half of the window: a baseline must stay neutral even if the
# patient starts moving before the window ends.
KEEP_FRACTION = 0.5
MAD_TO_SD = 1.4826        # median absolute deviation → standard deviation, for normal noise

_EYE, _BROW, _CX, _CY = INDEX["eye_opening"], INDEX["brow_height"], INDEX["commissure_x"], INDEX["commissure_y"]
_ULIP, _MW, _MO, _IRIS = INDEX["upper_lip_y"], INDEX["mouth_width"], INDEX["mouth_open"], INDEX["iris_diameter"]


class CalibrationError(ValueError):
    """Too few usable frames for a baseline."""


@dataclass(frozen=True)
class Baseline:
    values: np.ndarray      # (len(MEASURES), 2) robust median of the neutral frames
    spread: np.ndarray      # (len(MEASURES), 2) median absolute deviation (noise level)
    n_frames: int
    mm_per_iod: float       # millimetres per IOD unit (iris-based), nan if unknown
    iod_px: float
    # (len(REL), 2) how much each relative measure jitters on this neutral face (a robust
    # standard deviation): movement is judged against this patient's own noise.
    noise: np.ndarray = field(default_factory=lambda: np.zeros((len(REL), 2)))
    pose: tuple[float, float, float] = (0.0, 0.0, 0.0)   # neutral yaw, pitch, roll (degrees)

    def to_dict(self) -> dict[str, Any]:
        return {"measures": {name: {"left": float(self.values[i, 0]), "right": float(self.values[i, 1])}
                             for i, name in enumerate(MEASURES)},
                "n_frames": self.n_frames, "mm_per_iod": self.mm_per_iod, "iod_px": self.iod_px,
                "noise": {name: {"left": round(float(self.noise[i, 0]), 5), "right": round(float(self.noise[i, 1]), 5)}
                          for i, name in enumerate(REL)},
                "pose": [round(float(a), 2) for a in self.pose]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Baseline":
        vals = np.array([[d["measures"][n]["left"], d["measures"][n]["right"]] for n in MEASURES])
        noise_d = d.get("noise") or {}
        noise = np.array([[noise_d.get(n, {}).get("left", 0.0), noise_d.get(n, {}).get("right", 0.0)] for n in REL])
        return cls(vals, np.zeros_like(vals), int(d.get("n_frames", 0)),
                   float(d.get("mm_per_iod", float("nan"))), float(d.get("iod_px", 0.0)), noise,
                   tuple(d.get("pose", (0.0, 0.0, 0.0))))


def fit_baseline(measures: Sequence[Measures]) -> Baseline:
    """Robust median over the calmest frames of a neutral period."""
    face = [m for m in measures if m.face]
    if len(face) < MIN_BASELINE_FRAMES:
        raise CalibrationError(f"only {len(face)} frames with a face in the neutral period "
                               f"(need {MIN_BASELINE_FRAMES})")
    stack = np.stack([m.values for m in face if m.values is not None])   # (n, M, 2)
    med = np.median(stack, axis=0)
    mad = np.median(np.abs(stack - med), axis=0) + 1e-6
    score = np.median(np.abs(stack - med) / mad, axis=(1, 2))  # how un-neutral each frame is
    keep = np.argsort(score)[: max(MIN_BASELINE_FRAMES, int(len(face) * KEEP_FRACTION))]
    calm = stack[keep]
    values = np.median(calm, axis=0)
    spread = np.median(np.abs(calm - values), axis=0)
    iris = float(np.median(values[_IRIS]))
    iod_px = float(np.median([face[i].iod_px for i in keep]))
    yaw, pitch, roll = (float(np.median([getattr(face[i], k) for i in keep]))
                        for k in ("yaw_deg", "pitch_deg", "roll_deg"))
    base = Baseline(values, spread, len(face), mm_per_iod(iris), iod_px, pose=(yaw, pitch, roll))
    # The jitter of each relative measure over the calm frames (MAD scaled to an SD).
    rel = np.stack([r for i in keep if (r := relative(face[i], base)) is not None])
    noise = MAD_TO_SD * np.median(np.abs(rel - np.median(rel, axis=0)), axis=0)
    return replace(base, noise=noise)


def relative(m: Measures, b: Baseline) -> np.ndarray | None:
    """(len(REL), 2) changes from the baseline; None when the frame has no face."""
    v, base = m.values, b.values
    if not m.face or v is None:
        return None
    mw = base[_MW, 0]
    out = np.empty((len(REL), 2))
    out[0] = v[_EYE] / base[_EYE] - 1.0
    out[1] = v[_BROW] / base[_BROW] - 1.0
    dx = v[_CX] - base[_CX]          # + = outward
    dy = v[_CY] - base[_CY]          # + = upward
    mag = np.sqrt(dx * dx + dy * dy) / mw
    out[2] = np.where(dx + dy >= 0, mag, -mag)
    out[3] = dy / mw
    out[4] = (v[_ULIP] - base[_ULIP]) / mw
    out[5] = v[_CX] / base[_CX] - 1.0
    out[6] = (v[_MO] - base[_MO]) / mw
    return out


def to_mm(rel_value: float, measure: str, b: Baseline) -> float:
    """A relative change in millimetres, for the measures where that is meaningful."""
    if measure in ("commissure_excursion", "commissure_elevation", "upper_lip_elevation", "mouth_open"):
        return float(rel_value * b.values[_MW, 0] * b.mm_per_iod)
    if measure == "eye_opening":
        return rel_value * float(np.mean(b.values[_EYE])) * b.mm_per_iod
    if measure == "brow_height":
        return rel_value * float(np.mean(b.values[_BROW])) * b.mm_per_iod
    if measure == "mouth_width":
        return rel_value * float(np.mean(b.values[_CX])) * b.mm_per_iod
    raise KeyError(measure)
