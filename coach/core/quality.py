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
- **out of frame**: landmarks outside the picture, or at its very edge, are guesses (a face
  partly out of frame, or a hand over part of it pushing the mesh off). Only the landmarks the
  exercise's measures read count (`face.MEASURE_POINTS`: the lids for eye narrowing, the mouth
  corners for a smile), with those the head frame and pose are built from (`face.POSE_POINTS`),
  each at least EDGE_MARGIN_IOD inside the picture: a patient close to a laptop or holding a
  tablet cuts off the forehead or the chin, and eye narrowing in a smile needs the eyes and the
  mouth, not the hairline. The gate names the part of the face at the edge (`part`), and the
  prompt asks the patient to move so it comes back into the picture.
- **settling**: after any of the above, a short settling time before judging again,
  so a pose that is only just back in range does not start an event.
"""
from __future__ import annotations

import math
from typing import Iterable

from coach.core import face
from coach.core.calibration import REL
from coach.core.exercises import Exercise
from coach.core.measures import Measures

MAX_YAW_DEG = 20.0        # head turned
MAX_ROLL_DEG = 20.0       # head tilted towards a shoulder
MAX_PITCH_DEG = 15.0      # head nodded up or down, from the neutral pose
MAX_TURN_FROM_NEUTRAL_DEG = 10.0   # head turned (yaw) or tilted (roll) away from the neutral pose
MAX_SPEED_IOD_S = 1.0     # head moving more than one eye-distance per second
MAX_TURN_DEG_S = 40.0     # head rotating faster than this (a slow look-around is ~10–20°/s)
EDGE_MARGIN_IOD = 0.15    # the landmarks a measure reads: this many eye distances inside the picture edge
SETTLE_S = 0.2            # good frames needed after a bad one before judging again
SPEED_WINDOW_S = 0.1      # speeds over ~3 frames: single-frame jitter is not motion

REASONS = ("no_face", "turned", "tilted", "pitched", "moving_fast", "out_of_frame", "settling")
PROMPTS = {
    "turned": "Please face the camera.",
    "tilted": "Please hold your head upright and face the camera.",
    "pitched": "Please face the camera, chin level.",
    "moving_fast": "Keep your head still.",
    "out_of_frame": "Move so your whole face is in the picture.",   # when no part is known
    "settling": "",
    "no_face": "We can't see your face.",
}
# The part of the face out of the picture (Measures.inside; sides are the patient's own).
OUT_OF_FRAME_PROMPTS = {
    "forehead": "Move back a little: your forehead is out of the picture.",
    "chin": "Move back a little: your chin is out of the picture.",
    "left": "Move a little to your right: the left side of your face is out of the picture.",
    "right": "Move a little to your left: the right side of your face is out of the picture.",
}


def needs(exercise: Exercise) -> tuple[str, ...]:
    """The relative measures an exercise reads from landmarks: its prime movement and the co-movements it
    watches (not those read from the picture, `face.PICTURE_MEASURES`, which judge themselves)."""
    return tuple(m for m in dict.fromkeys((exercise.prime.measure, *(w.measure for w in exercise.watches)))
                 if m not in face.PICTURE_MEASURES)


class QualityGate:
    """Stateful, pure: `check(m)` for each frame in time order; after it, `part` names the part
    of the face out of the picture (or "") and `prompt` is what to ask of the patient."""

    def __init__(self, neutral_pose: tuple[float, float, float] = (0.0, 0.0, 0.0),
                 measures: Iterable[str] | None = None):
        """`neutral_pose`: yaw, pitch and roll of the patient's neutral face (`Baseline.pose`);
        `measures`: the relative measures read (`needs(exercise)`, see `for_exercise`; default: all)."""
        self.neutral = tuple(neutral_pose)
        self.sets = ("pose", *(REL if measures is None else measures))
        unknown = set(self.sets) - {"pose", *REL}
        if unknown:
            raise ValueError(f"unknown measures: {sorted(unknown)}")
        self.part = ""
        self.reason: str | None = None
        self._past: list[Measures] = []
        self._bad_t: float | None = None

    @classmethod
    def for_exercise(cls, neutral_pose: tuple[float, float, float], exercise: Exercise) -> "QualityGate":
        """The gate for one exercise: the landmarks its measures read must be in the picture."""
        return cls(neutral_pose, needs(exercise))

    @property
    def prompt(self) -> str:
        """What the live coach asks of the patient after the last `check` ("" when judged)."""
        if self.reason == "out_of_frame" and self.part:
            return OUT_OF_FRAME_PROMPTS[self.part]
        return PROMPTS.get(self.reason, "") if self.reason else ""

    def check(self, m: Measures | None) -> str | None:
        self.part = ""
        self.reason = self._check(m)
        return self.reason

    def _check(self, m: Measures | None) -> str | None:
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
        if self._out_of_frame(m):
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

    def _out_of_frame(self, m: Measures) -> bool:
        """Are the landmarks of the judged measures (and the pose's) too near the edge, or past it?"""
        if m.inside is None:
            return False
        margin, part = min((m.inside[k] for k in self.sets if k in m.inside), default=(1.0, ""))
        if margin >= EDGE_MARGIN_IOD:
            return False
        self.part = part
        return True

    @staticmethod
    def _too_fast(a: Measures, b: Measures) -> bool:
        dt = b.t - a.t
        if dt <= 0:
            return False
        iod = max(b.iod_px, 1e-6)
        shift = math.hypot(b.origin[0] - a.origin[0], b.origin[1] - a.origin[1]) / iod
        turn = max(abs(b.yaw_deg - a.yaw_deg), abs(b.pitch_deg - a.pitch_deg), abs(b.roll_deg - a.roll_deg))
        return shift / dt > MAX_SPEED_IOD_S or turn / dt > MAX_TURN_DEG_S
