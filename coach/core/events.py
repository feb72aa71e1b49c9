"""Records the detector and the session emit: plain frozen data, JSON-friendly.

These are the contract between the core and the shell: the store writes them,
the display reacts to them, `coach analyze` prints them. Every time is session
time (seconds on the session's one clock: frame time), so reps, events, sets,
samples and calibrations never drift apart.

Session records, in the order a session emits them: Calibrated, SetStarted,
Sample (every frame), RepEnded, SynkinesisStarted / SynkinesisEnded, Gap (face
or camera lost), SetEnded, Ended. The detector's happenings (RepStarted,
RepEnded, SynkinesisStarted, SynkinesisEnded) carry the exercise once the
session has stamped them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from coach.core.calibration import Baseline


@dataclass(frozen=True)
class Rep:
    """One repetition of the prime movement: rise, hold, return."""

    index: int
    start_s: float            # movement onset
    peak_s: float
    end_s: float              # back below the release level (or the clip/face ended)
    peak: float               # peak movement level, 1.0 = the exercise's target
    peak_by_side: dict[str, float] = field(default_factory=dict)   # {"left": rel change, "right": ...} of the
                                                                  # prime measure
    time_to_peak_s: float = 0.0
    hold_s: float = 0.0       # time spent at ≥ HOLD_FRACTION of the peak
    hold_steadiness: float = 0.0  # 1 − coefficient of variation of the level during the hold (1 = rock steady)
    synkinesis_peak: float = 0.0  # largest watched co-movement (relative change, signed) during the rep
    synkinesis: bool = False
    complete: bool = True     # False when the face was lost or the clip ended mid-rep
    target: float = 0.0       # the patient's target for the prime movement (relative change) at the rep's end
    # Evenness and timing (coach.core.coaching, from the detector's per-frame side levels):
    onset_lag_ms: float | None = None    # how much later the later side started moving (ms)
    late_side: str = ""                  # which side started later ("" when together or unknown)
    amplitude_ratio: float | None = None  # affected side's peak / the other side's (without an affected
                                          # side: the smaller / the larger); 1.0 = equal
    smoothness: float | None = None      # of the rise: net rise / total up-and-down travel (1 = one smooth rise)
    # synkinesis_peak per anatomical side, on both sides even when only the affected one is judged
    # (synkinesis is often bilateral: Renne 2025 found eyes narrowing on both sides in a pucker).
    synkinesis_by_side: dict[str, float] = field(default_factory=dict)
    short_hold: bool = False             # let go before the hold's countdown ended (the live coach's reps)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Synkinesis:
    """A synkinetic co-movement: `measure` on `side` moved with the prime movement."""

    side: str                 # patient's anatomical side
    measure: str              # e.g. "eye_opening"
    start_s: float
    end_s: float
    peak_change: float        # signed relative change at its largest (e.g. −0.35 = eye 35 % narrower)
    control_change: float = 0.0  # the other side's change at that moment
    kind: str = ""            # "oral-ocular" | "ocular-oral" | ...
    message: str = ""         # the exercise's corrective message

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Per-frame happenings returned by Detector.update (the display and store react to them).
@dataclass(frozen=True)
class RepStarted:
    t: float


@dataclass(frozen=True)
class RepEnded:
    rep: Rep
    exercise: str = ""


@dataclass(frozen=True)
class SynkinesisStarted:
    side: str
    measure: str
    start_s: float
    t: float                  # when it was confirmed (after the minimum duration)
    message: str = ""
    region: str = ""
    exercise: str = ""


@dataclass(frozen=True)
class SynkinesisEnded:
    event: Synkinesis
    exercise: str = ""


# ---- session records (the log writes these) ----------------------------------------
@dataclass(frozen=True)
class Calibrated:
    t: float
    baseline: Baseline


@dataclass(frozen=True)
class SetStarted:
    t: float
    exercise: str
    planned_reps: int


@dataclass(frozen=True)
class SetEnded:
    t: float
    exercise: str
    target: float | None = None          # the patient's target at the end of the set
    target_source: str | None = None     # plan | learned | previous | exercise


@dataclass(frozen=True)
class Sample:
    t: float
    exercise: str
    values: npt.NDArray[np.floating[Any]]   # (len(REL), 2) relative measures


@dataclass(frozen=True)
class Gap:
    """The face or the camera was lost from start_s to end_s: nothing in between counts."""

    kind: Literal["face_lost", "camera_lost"]
    exercise: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Ended:
    t: float
    status: Literal["completed", "interrupted"]


Happening = RepStarted | RepEnded | SynkinesisStarted | SynkinesisEnded     # what `Detector.update` returns
Record = Calibrated | SetStarted | SetEnded | Sample | Gap | Ended | RepEnded | SynkinesisEnded   # what the log writes
