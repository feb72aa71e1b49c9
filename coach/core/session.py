"""The coaching state machine, with no I/O: `Session.step(...) -> StepResult`.

welcome → calibrate → for each exercise: instruct → (move → hold → relax → rest) × reps
→ summary. Pauses when the face is lost for more than FACE_LOST_S (nothing during
the gap counts), when the camera is lost, or on the patient's request. Quitting
asks once.

The screens guide; the detector counts. A rep counts when the detector sees a
whole rise–hold–return, whatever screen is showing, so a patient who moves at
their own pace is not penalised. `records` tell the shell what to log.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coach.core.calibration import Baseline, CalibrationError, fit_baseline, relative
from coach.core.detector import Detector, OFF_LEVEL
from coach.core.events import (Calibrated, Ended, Gap, RepEnded, Sample, SetEnded, SetStarted, SynkinesisEnded,
                               SynkinesisStarted)
from coach.core.exercises import Exercise
from coach.core.face import SIDES
from coach.core.feedback import FeedbackView, Meter
from coach.core.frames import LandmarkFrame
from coach.core.measures import Measures, measure
from coach.core.progress import synkinesis_free, synkinesis_free_rate
from coach.core.quality import PROMPTS, QualityGate

CALIBRATE_S = 2.0         # sit still with a neutral face this long
FACE_LOST_S = 0.5         # longer than a blink or a glance away: pause
INSTRUCT_S = 5.0          # time to read the instructions (a key skips it)
HOLD_START = 0.6          # the hold starts at 60 % of the target; its countdown runs while the detector
                          # says the patient is holding (`Detector.holding`, the logged hold time's definition)
EXERCISE_STATES = ("instruct", "move", "hold", "relax", "rest")
STILL_SPREAD = 0.03       # calibration: eye opening may vary this much (IOD units) — no talking or blinking fits
CENTRE_TOLERANCE = 0.22   # face centre within this of the image centre (fraction of the image)
MIN_IOD_FRACTION = 0.07   # eyes at least 7 % of the image width apart: near enough to measure
MIN_BRIGHTNESS = 50       # mean luma (0–255) below this: too dark for reliable landmarks

SAFETY_NOTICE = ("This coach does not diagnose. If you notice sudden new weakness of the face, "
                 "arm or leg, or trouble speaking, call emergency services: it can be a stroke.")


@dataclass(frozen=True)
class StepResult:
    view: FeedbackView
    records: tuple = ()     # typed session records (coach.core.events), in the order they happened


@dataclass
class ExerciseTally:
    exercise: Exercise
    reps: list = field(default_factory=list)
    events: list = field(default_factory=list)

    @property
    def clean_reps(self) -> int:
        return synkinesis_free(self.reps)


class Session:
    def __init__(self, plan: list[Exercise], affected_side: str | None = None, previous: dict | None = None,
                 welcome_s: float | None = None, targets: dict | None = None):
        """`welcome_s`: move on from the welcome screen by itself after this long
        (the demo, a replay); None waits for the patient to press Enter. `targets`:
        {exercise_id: target} learned in earlier sessions (a plan's own target wins)."""
        if not plan:
            raise ValueError("a session needs at least one exercise")
        self.plan = plan
        self.affected_side = affected_side
        self.previous = previous or {}     # {exercise_id: synkinesis-free rate} from the last session
        self.targets = targets or {}
        self.gate: QualityGate | None = None
        self._pose_hint = ""
        self.welcome_s = welcome_s
        self.state = "welcome"
        self.tallies = [ExerciseTally(ex) for ex in plan]
        self.ex_i = 0
        self.baseline: Baseline | None = None
        self.detector: Detector | None = None
        self.status = "in-progress"
        self._state_t: float | None = None
        self._calib: list[Measures] = []
        self._hint = ""
        self._last_face_t: float | None = None
        self._paused_from: str | None = None
        self._pause_reason = ""
        self._gap_start: float | None = None
        self._hold_left = 0.0
        self._last_t = 0.0
        self._banner: tuple[str, tuple] | None = None
        self._hold_tick = 0.0
        self._points = None          # landmarks for the mirror and mesh views
        self._frame_width = 640

    # ---- helpers ------------------------------------------------------------------
    @property
    def exercise(self) -> Exercise:
        return self.plan[min(self.ex_i, len(self.plan) - 1)]

    @property
    def tally(self) -> ExerciseTally:
        return self.tallies[min(self.ex_i, len(self.tallies) - 1)]

    @property
    def pause_reason(self) -> str:
        """Why the session is paused: "user", "face", "camera_lost", or "" when it is not."""
        return self._pause_reason

    def _go(self, state: str, t: float) -> None:
        self.state, self._state_t = state, t

    def _elapsed(self, t: float) -> float:
        if self._state_t is None:
            self._state_t = t
        return t - self._state_t

    # ---- the one verb ---------------------------------------------------------------
    def step(self, frame: LandmarkFrame | None, t: float, actions: tuple | list = (), *,
             camera_lost: bool = False, brightness: float | None = None) -> StepResult:
        records: list = []
        cue: str | None = None
        m = self._observe(frame, t)
        for action in actions:
            cue = self._act(action, t, records) or cue
        if self.state != "summary":
            self._check_gaps(m, t, camera_lost, records)
            cue = self._advance(m, t, brightness, records) or cue
        return StepResult(self._view(t, cue), tuple(records))

    def _observe(self, frame: LandmarkFrame | None, t: float) -> Measures | None:
        self._last_t = t
        m = measure(frame) if frame is not None and frame.has_face else None
        self._points = frame.points if m is not None else None
        if m is not None:
            self._last_face_t = t
            self._frame_width = frame.width
        return m

    def _check_gaps(self, m: Measures | None, t: float, camera_lost: bool, records: list) -> None:
        """Camera or face gone: pause, and let nothing in the gap count; resume when they are back."""
        face_gone = m is None and (self._last_face_t is None or t - self._last_face_t > FACE_LOST_S)
        if self.state not in ("welcome", "confirm_quit", "paused", "camera_lost") and (
                camera_lost or (face_gone and self.state != "calibrate")):
            self._pause(t, "camera_lost" if camera_lost else "face", records)
        elif self.state == "camera_lost" and not camera_lost:
            self._resume(t, records)
        elif self.state == "paused" and self._pause_reason == "face" and m is not None:
            self._resume(t, records)

    def _advance(self, m: Measures | None, t: float, brightness: float | None, records: list) -> str | None:
        if self.state == "welcome" and self.welcome_s is not None and self._elapsed(t) >= self.welcome_s:
            self._go("calibrate", t)
        if self.state == "calibrate":
            return self._calibrate(m, t, brightness, records)
        if self.state in EXERCISE_STATES:
            return self._exercise_step(m, t, records)
        return None

    def end(self, t: float) -> StepResult:
        """The source has ended (a replay or video ran out): close and show the summary."""
        records: list = []
        cue = None
        if self.state not in ("summary",):
            cue = self._finish(t, records, "completed" if self._all_done() else "interrupted")
        return StepResult(self._view(t, cue), tuple(records))

    # ---- actions --------------------------------------------------------------------
    def _act(self, action: str, t: float, records: list) -> str | None:
        if self.state == "confirm_quit":
            return self._answer_quit(action, t, records)
        handler = {"quit": self._ask_quit, "pause": self._toggle_pause, "skip": self._skip,
                   "yes": self._begin, "key:enter": self._begin}.get(action)
        return handler(t, records) if handler else None

    def _answer_quit(self, action: str, t: float, records: list) -> str | None:
        if action in ("yes", "quit"):
            return self._finish(t, records, "completed" if self._all_done() else "interrupted")
        if action in ("no", "pause"):
            self.state = self._paused_from or "instruct"
        return None

    def _ask_quit(self, t: float, records: list) -> None:
        if self.state != "summary":
            self._paused_from = self.state
            self._end_detector(records)
            self.state = "confirm_quit"

    def _toggle_pause(self, t: float, records: list) -> None:
        if self.state == "paused" and self._pause_reason == "user":
            self._resume(t, records)
        elif self.state not in ("welcome", "summary", "paused", "camera_lost"):
            self._pause(t, "user", records)

    def _skip(self, t: float, records: list) -> str | None:
        if self.state == "welcome":
            self._go("calibrate", t)
        elif self.state == "instruct":
            return self._start_reps(t)
        elif self.state in ("move", "hold", "relax", "rest", "paused"):
            return self._next_exercise(t, records)
        return None

    def _begin(self, t: float, records: list) -> None:
        if self.state == "welcome":
            self._go("calibrate", t)

    def _pause(self, t: float, reason: str, records: list) -> None:
        self._end_detector(records)
        self._paused_from = self.state if self.state not in ("paused", "camera_lost") else self._paused_from
        self._pause_reason = reason
        self._gap_start = self._last_face_t if reason == "face" and self._last_face_t is not None else t
        self.state = "camera_lost" if reason == "camera_lost" else "paused"

    def _resume(self, t: float, records: list) -> None:
        if self._pause_reason in ("face", "camera_lost") and self._gap_start is not None:
            records.append(Gap("face_lost" if self._pause_reason == "face" else "camera_lost",
                               self.exercise.id, self._gap_start, t))
        before = self._paused_from or "calibrate"
        self._paused_from, self._pause_reason, self._gap_start = None, "", None
        # Back where we were; a rep interrupted by the pause starts again.
        self._go("calibrate" if before == "calibrate" else ("instruct" if before == "instruct" else "move"), t)
        if self.state == "calibrate":
            self._calib = []

    def _end_detector(self, records: list) -> None:
        """Close anything under way; a rep cut off by a pause or quit does not count."""
        if self.detector is not None:
            self._collect(self.detector.update(None, self._last_t), records, counted=False)

    # ---- calibration ----------------------------------------------------------------
    def _calibrate(self, m: Measures | None, t: float, brightness: float | None, records: list) -> str | None:
        hint = self._calibration_hint(m, brightness)
        if hint:
            self._hint, self._calib = hint, []
            self._state_t = t
            return None
        self._hint = ""
        self._calib.append(m)
        if self._elapsed(t) < CALIBRATE_S:
            return None
        eyes = np.array([c.values[0] for c in self._calib])
        if np.ptp(eyes, axis=0).max() > STILL_SPREAD * 3:
            # Someone blinked hard or talked: try again quietly rather than baseline on it.
            self._hint, self._calib, self._state_t = "Keep your face relaxed and still for a moment.", [], t
            return None
        try:
            self.baseline = fit_baseline(self._calib)
        except CalibrationError:
            self._calib, self._state_t = [], t
            return None
        records.append(Calibrated(t, self.baseline))
        return self._start_exercise(t, records)

    def _calibration_hint(self, m: Measures | None, brightness: float | None) -> str:
        if m is None:
            return "We can't see your face. Sit facing the camera."
        if brightness is not None and brightness < MIN_BRIGHTNESS:
            return "It is a little dark. Turn on a light in front of you."
        if abs(m.centre[0] - 0.5) > CENTRE_TOLERANCE or abs(m.centre[1] - 0.5) > CENTRE_TOLERANCE + 0.08:
            return "Move so your face is in the middle of the picture."
        if m.iod_px < MIN_IOD_FRACTION * self._frame_width:
            return "Come a little closer to the camera."
        return ""

    # ---- exercises ------------------------------------------------------------------
    def _start_exercise(self, t: float, records: list) -> str:
        ex = self.exercise
        self.detector = Detector(ex, self.affected_side, noise=self.baseline.noise,
                                 start_target=self.targets.get(ex.id))
        self.gate = QualityGate(self.baseline.pose[1])
        records.append(SetStarted(t, ex.id, ex.reps))
        self._go("instruct", t)
        return "start"

    def _start_reps(self, t: float) -> str:
        self._go("move", t)
        return "start"

    def _next_exercise(self, t: float, records: list) -> str | None:
        self._end_detector(records)
        records.append(self._set_ended(t))
        self.ex_i += 1
        if self.ex_i >= len(self.plan):
            return self._finish(t, records, "completed")
        self._start_exercise(t, records)
        return "exercise_done"

    def _set_ended(self, t: float) -> SetEnded:
        det = self.detector
        target = (det.target, det.learner.source) if det is not None else (None, None)
        return SetEnded(t, self.exercise.id, *target)

    def _all_done(self) -> bool:
        return all(len(tl.reps) >= tl.exercise.reps for tl in self.tallies)

    def _finish(self, t: float, records: list, status: str) -> str:
        self._end_detector(records)
        if self.ex_i < len(self.plan):          # (after the last exercise, _next_exercise ended its set)
            records.append(self._set_ended(t))
        self.status = status
        self.ex_i = min(self.ex_i, len(self.plan) - 1)
        records.append(Ended(t, status))
        self._go("summary", t)
        return "session_done"

    def _collect(self, happenings: list, records: list, counted: bool = True) -> str | None:
        cue = None
        ex_id = self.exercise.id
        for h in happenings:
            if isinstance(h, RepEnded):
                if counted and h.rep.complete:
                    self.tally.reps.append(h.rep)
                    records.append(RepEnded(h.rep, ex_id))
                    cue = "rep_done"
            elif isinstance(h, SynkinesisStarted):
                self._banner = (h.message, ((h.region, h.side),))
                cue = "synkinesis"
            elif isinstance(h, SynkinesisEnded):
                self.tally.events.append(h.event)
                records.append(SynkinesisEnded(h.event, ex_id))
        if self.detector is not None and not self.detector.active_synkinesis:
            self._banner = None
        return cue

    def _exercise_step(self, m: Measures | None, t: float, records: list) -> str | None:
        cue = self._feed(m, t, records) if m is not None and self.baseline is not None else None
        level = self.detector.level if m is not None else 0.0
        phase = {"instruct": self._instruct_phase, "move": self._move_phase, "hold": self._hold_phase,
                 "relax": self._relax_phase, "rest": self._rest_phase}[self.state]
        cue = phase(level, t) or cue
        self._hold_tick = t
        if len(self.tally.reps) >= self.exercise.reps and self.state in ("rest", "move") and not self.detector.in_rep:
            cue = self._next_exercise(t, records) or cue
        return cue

    def _feed(self, m: Measures, t: float, records: list) -> str | None:
        """One frame to the detector: judged only when pose and tracking allow; the move and
        hold phases say what the patient is trying to do."""
        rel = relative(m, self.baseline)
        reason = self.gate.check(m)
        intent = self.state in ("move", "hold")
        cue = self._collect(self.detector.update(rel, t, judged=reason is None, intent=intent), records)
        self._pose_hint = PROMPTS.get(reason, "") if reason else ""
        records.append(Sample(t, self.exercise.id, rel))
        return cue

    def _instruct_phase(self, level: float, t: float) -> str | None:
        return self._start_reps(t) if self._elapsed(t) >= INSTRUCT_S else None

    def _move_phase(self, level: float, t: float) -> str | None:
        ex = self.exercise
        if level >= HOLD_START or (self._elapsed(t) >= ex.move_s and self.detector.in_rep):
            self._go("hold", t)
            self._hold_left = ex.hold_s
            return "hold"
        return None

    def _hold_phase(self, level: float, t: float) -> None:
        # The countdown runs while the patient is holding, as the logged hold time counts it.
        if self.detector.holding:
            self._hold_left -= t - self._hold_tick
        if self._hold_left <= 0:
            self._go("relax", t)

    def _relax_phase(self, level: float, t: float) -> None:
        if (level < OFF_LEVEL and not self.detector.in_rep) or self._elapsed(t) > self.exercise.relax_s + 4:
            self._go("rest", t)

    def _rest_phase(self, level: float, t: float) -> None:
        if self._elapsed(t) >= self.exercise.rest_s:
            self._go("move", t)

    # ---- the view -------------------------------------------------------------------
    def _view(self, t: float, cue: str | None) -> FeedbackView:
        common = dict(t=t, cue=cue, points=self._points)
        fixed = self._fixed_view(t, common)
        return fixed if fixed is not None else self._exercise_view(t, common)

    def _fixed_view(self, t: float, common: dict) -> FeedbackView | None:
        """The screens around the exercises."""
        state = self.state
        if state == "welcome":
            return FeedbackView("welcome", "Welcome to your face exercises",
                                "Sit facing the camera, in good light. Press Enter to begin.",
                                extra={"notice": SAFETY_NOTICE}, **common)
        if state == "calibrate":
            left = max(0.0, CALIBRATE_S - self._elapsed(t))
            return FeedbackView("calibrate", "Getting to know your face",
                                self._hint or "Relax your face and look at the screen. Keep still.",
                                countdown_s=None if self._hint else left, **common)
        if state == "summary":
            return FeedbackView("summary", "Well done!" if self.status == "completed" else "Session ended",
                                "Here is how it went.", summary=self.summary_rows(), **common)
        texts = {"confirm_quit": ("Stop now?", "Press Y to stop, or N to carry on."),
                 "camera_lost": ("Camera lost", "Trying to reconnect… Check the cable or close other apps "
                                                "using the camera."),
                 "paused": ("Paused", "We can't see your face. Face the camera to carry on."
                            if self._pause_reason == "face" else "Paused. Press P or space to carry on.")}
        if state in texts:
            return FeedbackView(state, *texts[state], **common)
        return None

    def _exercise_view(self, t: float, common: dict) -> FeedbackView:
        ex, state = self.exercise, self.state
        texts = {"instruct": " ".join(ex.instructions),
                 "move": f"Slowly: {ex.instructions[1] if len(ex.instructions) > 1 else ex.instructions[0]}",
                 "hold": "Hold it gently…",
                 "relax": "Now slowly relax.",
                 "rest": "Rest."}
        countdown = hold_fraction = None
        if state == "hold":
            countdown = max(0.0, self._hold_left)
            hold_fraction = 1.0 - countdown / ex.hold_s
        elif state == "rest":
            countdown = max(0.0, ex.rest_s - self._elapsed(t))
        banner, highlight = (self._banner if self._banner else (None, ()))
        text = self._pose_hint if self._pose_hint and state in ("move", "hold", "relax") else texts[state]
        return FeedbackView(state, ex.name, text, meters=self._meters(), rep=len(self.tally.reps),
                            reps_total=ex.reps, hold_fraction=hold_fraction, countdown_s=countdown, banner=banner,
                            highlight=highlight, **common)

    def _meters(self) -> tuple[Meter, ...]:
        det = self.detector
        if det is None:
            return ()
        ex = self.exercise
        # Labels name the movement; the display heads each column with the side.
        meters = [Meter(ex.prime.label, side, "prime", float(det.side_levels[i]), 1.0)
                  for i, side in enumerate(SIDES)]
        active = set(det.active_synkinesis)
        for wi, w in enumerate(ex.watches):
            for i, side in enumerate(SIDES):
                # The bar shows how near this side is to an alert (compared with the other
                # side, as the detector judges it); full at twice that, so the line is mid-bar.
                meters.append(Meter(w.label, side, "watch", float(det.watch_scores[wi, i]) / 2, 0.5,
                                    (w.measure, side) in active))
        return tuple(meters)

    def summary_rows(self) -> tuple[tuple[str, str], ...]:
        """Per exercise: reps done, reps free of co-movement, the best rep, change since last time."""
        rows = []
        for i, tl in enumerate(self.tallies):
            if i > self.ex_i and not tl.reps:
                continue                      # not reached
            n, clean = len(tl.reps), synkinesis_free(tl.reps)
            rows.append((tl.exercise.name, f"{n} of {tl.exercise.reps} reps"))
            rows.append(("   without co-movement", f"{clean} of {n}"))
            if tl.reps:
                best = max(tl.reps, key=lambda r: (not r.synkinesis, r.peak))
                rows.append(("   best rep", f"rep {best.index}, {best.peak:.0%} of target"))
            prev = self.previous.get(tl.exercise.id)
            if prev is not None and n:
                change = synkinesis_free_rate(tl.reps) - prev
                rows.append(("   since last time", f"{'+' if change >= 0 else '−'}{abs(change):.0%} co-movement-free"))
        return tuple(rows)
