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
  lip_chin_height       the mesh's lower-lip-to-chin height, fraction of neutral (− = shorter)
  lower_lip_red         the lower lip's red height, fraction of neutral (+ = turned out)
  chin_pad              the chin pad's height, fraction of neutral (− = bunched up)
  chin_raise            the lip-to-chin height as the picture shows it (`coach.core.chin`), + = shorter
                        (a fraction of the neutral height); NaN without pixel readings
  neck_bands            vertical-ridge energy below the jaw over the neutral neck (`coach.core.neck`);
                        NaN when the neck cannot be read (out of the picture, dark or covered)
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from coach.core import chin, neck
from coach.core.measures import INDEX, MEASURES, Measures, mm_per_iod

REL = ("eye_opening", "brow_height", "commissure_excursion", "commissure_elevation",
       "upper_lip_elevation", "mouth_width", "mouth_open",
       "lip_chin_height", "lower_lip_red", "chin_pad", "chin_raise", "neck_bands")
REL_INDEX = {name: i for i, name in enumerate(REL)}

MIN_BASELINE_FRAMES = 5
# Keep the calmest half of the window: a baseline must stay neutral even if the
# patient starts moving before the window ends.
KEEP_FRACTION = 0.5
MAD_TO_SD = 1.4826        # median absolute deviation → standard deviation, for normal noise

_EYE, _BROW, _CX, _CY = INDEX["eye_opening"], INDEX["brow_height"], INDEX["commissure_x"], INDEX["commissure_y"]
_ULIP, _MW, _MO, _IRIS = INDEX["upper_lip_y"], INDEX["mouth_width"], INDEX["mouth_open"], INDEX["iris_diameter"]
_LLY, _CHY, _RED, _PAD = INDEX["lower_lip_y"], INDEX["chin_y"], INDEX["lower_lip_red"], INDEX["chin_pad"]


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
    # The neutral picture (medians over the calm frames of `LandmarkFrame.readings`): the chin's
    # grey profiles (2, chin.CHIN_COLS, chin.CHIN_ROWS), where its lip and outline were in them (2, 2),
    # and the neck's features (2, 5); None when
    # the frames had no pixel readings.
    chin_profile: np.ndarray | None = None
    chin_marks: np.ndarray | None = None
    neck: np.ndarray | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"measures": {name: {"left": float(self.values[i, 0]), "right": float(self.values[i, 1])}
                             for i, name in enumerate(MEASURES)},
                "n_frames": self.n_frames, "mm_per_iod": self.mm_per_iod, "iod_px": self.iod_px,
                "noise": {name: {"left": round(float(self.noise[i, 0]), 5), "right": round(float(self.noise[i, 1]), 5)}
                          for i, name in enumerate(REL)},
                "pose": [round(float(a), 2) for a in self.pose],
                "pixels": {k: np.round(np.asarray(v, np.float64), 3).tolist()
                           for k, v in (("chin_profile", self.chin_profile), ("chin_marks", self.chin_marks),
                                        ("neck", self.neck)) if v is not None}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Baseline":
        nan = {"left": float("nan"), "right": float("nan")}   # a measure added after it was saved
        vals = np.array([[d["measures"].get(n, nan)["left"], d["measures"].get(n, nan)["right"]] for n in MEASURES])
        px = d.get("pixels") or {}
        noise_d = d.get("noise") or {}
        noise = np.array([[noise_d.get(n, {}).get("left", 0.0), noise_d.get(n, {}).get("right", 0.0)] for n in REL])
        return cls(vals, np.zeros_like(vals), int(d.get("n_frames", 0)),
                   float(d.get("mm_per_iod", float("nan"))), float(d.get("iod_px", 0.0)), noise,
                   tuple(d.get("pose", (0.0, 0.0, 0.0))),
                   *(_array(px.get(k)) for k in ("chin_profile", "chin_marks", "neck")))


def _array(v: Any) -> np.ndarray | None:
    return None if v is None else np.asarray(v, np.float64)


def _reading(frames: Sequence[Measures], name: str) -> np.ndarray | None:
    """The median of one pixel reading over frames that have it (None when none do)."""
    got = [np.asarray(m.readings[name], np.float64) for m in frames if m.readings and name in m.readings]
    if not got:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(np.stack(got), axis=0)


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
    calm_frames = [face[i] for i in keep]
    base = Baseline(values, spread, len(face), mm_per_iod(iris), iod_px, pose=(yaw, pitch, roll),
                    chin_profile=_reading(calm_frames, "chin_profile"), chin_marks=_reading(calm_frames, "chin_marks"),
                    neck=_reading(calm_frames, "neck"))
    # The jitter of each relative measure over the calm frames (MAD scaled to an SD).
    rel = np.stack([r for i in keep if (r := relative(face[i], base)) is not None])
    with warnings.catch_warnings():      # a pixel reading with no frame to read it from stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        noise = MAD_TO_SD * np.nanmedian(np.abs(rel - np.nanmedian(rel, axis=0)), axis=0)
    return replace(base, noise=np.nan_to_num(noise))


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
    out[7] = (v[_CHY] - v[_LLY]) / (base[_CHY] - base[_LLY]) - 1.0
    out[8] = v[_RED] / base[_RED] - 1.0
    out[9] = v[_PAD] / base[_PAD] - 1.0
    out[10:] = np.nan
    px = m.readings or {}
    if b.chin_profile is not None and b.chin_marks is not None and "chin_profile" in px and "chin_marks" in px:
        marks = np.asarray(px["chin_marks"], np.float64)
        out[10] = chin.chin_raise(b.chin_profile, np.asarray(px["chin_profile"], np.float64),
                                  b.chin_marks[:, 0], b.chin_marks[:, 1], marks[:, 0],
                                  np.minimum(marks[:, 2], b.chin_marks[:, 2]))
    if b.neck is not None and "neck" in px:
        out[11] = neck.ridges(b.neck, np.asarray(px["neck"], np.float64))
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
