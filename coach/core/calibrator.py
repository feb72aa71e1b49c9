"""Getting to know the patient's face: the neutral baseline, and the calm face the demonstration uses.

`Calibrator.add(m, frame, t, brightness, frame_width)` takes one frame of the
calibration screen and returns the Baseline once CALIBRATE_S of still, neutral,
well-placed frames have been seen (None until then); `hint` says what to change
meanwhile, in plain words.
"""
from __future__ import annotations

import numpy as np

from coach.core.calibration import Baseline, CalibrationError, fit_baseline
from coach.core.frames import LandmarkFrame
from coach.core.measures import Measures

CALIBRATE_S = 2.0         # sit still with a neutral face this long
STILL_SPREAD = 0.03       # eye opening may vary this much (IOD units) — no talking or blinking fits
CENTRE_TOLERANCE = 0.22   # face centre within this of the image centre (fraction of the image)
MIN_IOD_FRACTION = 0.07   # eyes at least 7 % of the image width apart: near enough to measure
MIN_BRIGHTNESS = 50       # mean luma (0–255) below this: too dark for reliable landmarks
STILL_HINT = "Keep your face relaxed and still for a moment."


class Calibrator:
    def __init__(self) -> None:
        self.hint = ""
        self.since: float | None = None          # when the current still stretch began
        self.calm: LandmarkFrame | None = None   # the calm face (median of the calibration frames)
        self._measures: list[Measures] = []
        self._frames: list[LandmarkFrame | None] = []

    def restart(self, t: float | None = None, hint: str = "") -> None:
        self.hint, self.since, self._measures, self._frames = hint, t, [], []

    def left(self, t: float) -> float:
        """Seconds of stillness still needed."""
        return max(0.0, CALIBRATE_S - (t - self.since)) if self.since is not None else CALIBRATE_S

    def add(self, m: Measures | None, frame: LandmarkFrame | None, t: float, brightness: float | None,
            frame_width: int) -> Baseline | None:
        hint = self._placement(m, brightness, frame_width)
        if hint:
            self.restart(t, hint)
            return None
        assert m is not None                     # (no face is a hint)
        self.hint = ""
        if self.since is None:
            self.since = t
        self._measures.append(m)
        self._frames.append(frame)
        if t - self.since < CALIBRATE_S:
            return None
        eyes = np.array([c.values[0] for c in self._measures if c.values is not None])
        if np.ptp(eyes, axis=0).max() > STILL_SPREAD * 3:
            # Someone blinked hard or talked: try again quietly rather than baseline on it.
            self.restart(t, STILL_HINT)
            return None
        try:
            baseline = fit_baseline(self._measures)
        except CalibrationError:
            self.restart(t)
            return None
        self.calm = _calm_face(self._frames)
        return baseline

    @staticmethod
    def _placement(m: Measures | None, brightness: float | None, frame_width: int) -> str:
        if m is None:
            return "We can't see your face. Sit facing the camera."
        if brightness is not None and brightness < MIN_BRIGHTNESS:
            return "It is a little dark. Turn on a light in front of you."
        if abs(m.centre[0] - 0.5) > CENTRE_TOLERANCE or abs(m.centre[1] - 0.5) > CENTRE_TOLERANCE + 0.08:
            return "Move so your face is in the middle of the picture."
        if m.iod_px < MIN_IOD_FRACTION * frame_width:
            return "Come a little closer to the camera."
        return ""


def _calm_face(frames: list[LandmarkFrame | None]) -> LandmarkFrame | None:
    """The calm face of calibration (the median of its frames), for the demonstration."""
    seen = [f for f in frames if f is not None and f.points is not None]
    if not seen:
        return None
    pts = np.median(np.stack([f.points for f in seen if f.points is not None]), axis=0).astype(np.float32)
    return LandmarkFrame(seen[-1].t, seen[-1].width, seen[-1].height, pts)
