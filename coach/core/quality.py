"""Can this frame be judged? Head pose and tracking quality, one frame at a time.

`QualityGate.check(m) -> reason | None`. Co-movement is judged only while the head
is near frontal and the landmarks can be trusted; otherwise the detector pauses
judging (nothing starts or spans the gap) and the live coach asks the patient to
face the camera. Why each limit:

- **turned / tilted**: per-side measures come from a 2-D image. Beyond ~20° of yaw
  the far eye and mouth corner are foreshortened and partly hidden, and MediaPipe's
  depth guess fills in for what it cannot see, so one side reads differently from
  the other although the face is symmetric. A healthy face laughing with the head
  turned then looks like one-sided eye narrowing.
- **pitched**: nodding far up or down changes how open the eyes look (the lids are
  seen from above or below, and a lowered gaze lowers the lids). Pitch is read as a
  change from the patient's own neutral pose, because the camera is rarely at eye level.
- **turned from neutral**: measures are changes from the neutral face, so the head must
  stay near the pose it had then. On the generated clips whose (symmetric) face turns in
  3-D with nothing injected, the two eyes' openings read apart by a median 0.01 within
  2.5° of the neutral yaw, and beyond 10° one frame in ten reads them 0.12–0.16 apart
  (90th percentile): more than the side test's 10 points, so a healthy face turning
  while it laughs would look like one-sided eye narrowing. Hence 10° from neutral.
- **moving fast**: the tracker lags fast head motion and smooths landmarks over
  frames, so measures then mix two poses.
- **out of frame**: landmarks outside the picture are guesses (a face partly out of
  frame, or a hand over part of it pushing the mesh off).
- **settling**: after any of the above, a short settling time before judging again,
  so a pose that is only just back in range does not start an event.
"""
from __future__ import annotations

import math

from coach.core.measures import Measures

MAX_YAW_DEG = 20.0        # head turned
MAX_ROLL_DEG = 20.0       # head tilted towards a shoulder
MAX_PITCH_DEG = 15.0      # head nodded up or down, from the neutral pose
MAX_TURN_FROM_NEUTRAL_DEG = 10.0   # head turned (yaw) or tilted (roll) away from the neutral pose
MAX_SPEED_IOD_S = 1.0     # head moving more than one eye-distance per second
MAX_TURN_DEG_S = 40.0     # head rotating faster than this (a slow look-around is ~10–20°/s)
MIN_MARGIN = 0.0          # every landmark inside the picture
SETTLE_S = 0.2            # good frames needed after a bad one before judging again
SPEED_WINDOW_S = 0.1      # speeds over ~3 frames: single-frame jitter is not motion

REASONS = ("no_face", "turned", "tilted", "pitched", "moving_fast", "out_of_frame", "settling")
PROMPTS = {
    "turned": "Please face the camera.",
    "tilted": "Please hold your head upright and face the camera.",
    "pitched": "Please face the camera, chin level.",
    "moving_fast": "Keep your head still.",
    "out_of_frame": "Move so your whole face is in the picture.",
    "settling": "",
    "no_face": "We can't see your face.",
}


class QualityGate:
    """Stateful, pure: `check(m)` for each frame in time order."""

    def __init__(self, neutral_pose: tuple[float, float, float] = (0.0, 0.0, 0.0)):
        """`neutral_pose`: yaw, pitch and roll of the patient's neutral face (`Baseline.pose`)."""
        self.neutral = tuple(neutral_pose)
        self._past: list[Measures] = []
        self._bad_t: float | None = None

    def check(self, m: Measures | None) -> str | None:
        if m is None or not m.face:
            self._past.clear()
            self._bad_t = None if m is None else m.t
            return "no_face"
        reason = self._reason(m)
        self._past.append(m)
        while len(self._past) > 1 and m.t - self._past[0].t > SPEED_WINDOW_S:
            self._past.pop(0)
        if reason:
            self._bad_t = m.t
            return reason
        if self._bad_t is not None and m.t - self._bad_t < SETTLE_S:
            return "settling"
        return None

    def _reason(self, m: Measures) -> str | None:
        if m.margin < MIN_MARGIN:
            return "out_of_frame"
        yaw0, pitch0, roll0 = self.neutral
        if abs(m.yaw_deg) > MAX_YAW_DEG or abs(m.yaw_deg - yaw0) > MAX_TURN_FROM_NEUTRAL_DEG:
            return "turned"
        if abs(m.roll_deg) > MAX_ROLL_DEG or abs(m.roll_deg - roll0) > MAX_TURN_FROM_NEUTRAL_DEG:
            return "tilted"
        if abs(m.pitch_deg - pitch0) > MAX_PITCH_DEG:
            return "pitched"
        if self._past and self._too_fast(self._past[0], m):
            return "moving_fast"
        return None

    @staticmethod
    def _too_fast(a: Measures, b: Measures) -> bool:
        dt = b.t - a.t
        if dt <= 0:
            return False
        iod = max(b.iod_px, 1e-6)
        shift = math.hypot(b.origin[0] - a.origin[0], b.origin[1] - a.origin[1]) / iod
        turn = max(abs(b.yaw_deg - a.yaw_deg), abs(b.pitch_deg - a.pitch_deg), abs(b.roll_deg - a.roll_deg))
        return shift / dt > MAX_SPEED_IOD_S or turn / dt > MAX_TURN_DEG_S
