"""The coaching state machine, with no I/O: `Session.step(...) -> StepResult`.

welcome (or "Your progress") → calibrate → for each exercise: instruct (the
instructions and an animated demonstration, until the patient is ready) →
countdown → (move → hold → relax → rest) × reps → summary. Pauses when the face
is lost for more than FACE_LOST_S (nothing during the gap counts), when the
camera is lost, or on the patient's request (a key, or the Pause touch target).
Stopping asks once.

The screens guide; the detector counts. A rep counts when the detector sees a
whole rise–hold–return, whatever exercise screen is showing, so a patient who
moves at their own pace is not penalised; but only Ready (then the 3-2-1) starts
the reps: trying the movement while the instructions show is practice, answered
with "press Ready". `records` tell the shell what to log.

Here: the states' order, pauses and gaps, the patient's actions, which reps count. Elsewhere: each
exercise phase's rules in `coach.core.phases`; the planned lengths, reminders and the hold's rules (no state
waits on the patient without a word) in `coach.core.pacing`; the Careful banner in `coach.core.alert`;
the views in `coach.core.screens`, from the session's `moment()`, its figures from `coach.core.readouts`;
amount and evenness in `coach.core.coaching`.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from coach.core import screens as views
from coach.core.actions import once
from coach.core.alert import Alert
from coach.core.calibration import Baseline, relative
from coach.core.calibrator import Calibrator
from coach.core.coaching import Prompter, SideTrace, rep_evenness
from coach.core.demonstration import Demonstration
from coach.core.detector import Detector
from coach.core.events import (Calibrated, Ended, Gap, Happening, Record, RepEnded, Sample, SetEnded, SetStarted,
                               SynkinesisEnded, SynkinesisStarted)
from coach.core.exercises import Exercise
from coach.core.feedback import Cue, FeedbackView, Points
from coach.core.frames import LandmarkFrame
from coach.core.measures import Measures, measure
from coach.core.moment import (ALERT_STATES, COUNTDOWN_S, EXERCISE_STATES, ExerciseTally, Highlight, Moment,
                               PauseReason, Place, SetSoFar, State, Status)
from coach.core.pacing import (HOLD_SLACK_S, HOLD_START, INSTRUCT_S, LET_GO_RELAX_S, REMIND_S, SHORT_BY_S,
                               planned_s, reminder)
from coach.core.phases import Phases
from coach.core.practice import History
from coach.core.quality import QualityGate
from coach.core.readouts import NeckStates, countdown_at, demonstration_at, meters, neck_readout

FACE_LOST_S = 0.5         # longer than a blink or a glance away: pause
NO_GAP_STATES = ("welcome", "progress", "confirm_quit", "paused", "camera_lost")

SAFETY_NOTICE = views.SAFETY_NOTICE

__all__ = ["COUNTDOWN_S", "FACE_LOST_S", "HOLD_START", "INSTRUCT_S", "ExerciseTally", "SAFETY_NOTICE", "Session",
           "StepResult",
           # the pacing rules' figures, from coach.core.pacing, where they were defined before
           "HOLD_SLACK_S", "LET_GO_RELAX_S", "REMIND_S", "SHORT_BY_S"]


@dataclass(frozen=True)
class StepResult:
    view: FeedbackView
    records: tuple[Record, ...] = ()     # typed session records (coach.core.events), in the order they happened


class Session:
    def __init__(self, plan: list[Exercise], affected_side: str | None = None,
                 previous: Mapping[str, float] | None = None, welcome_s: float | None = None,
                 targets: Mapping[str, float] | None = None, *, ready_s: float | None = None,
                 history: History | None = None, prefs: Mapping[str, str] | None = None) -> None:
        """`welcome_s`: move on from the welcome screen by itself after this long (the demo, a
        replay, the kiosk); None waits for the patient. `ready_s` likewise for the instructions.
        `targets`: {exercise_id: target} learned in earlier sessions (a plan's own target wins).
        `history`: (rep rows, today) for the "Your progress" screen, or None (no such screen).
        `prefs`: the patient's remembered display settings, handed to the display on the first view;
        changes the display reports ("set:name=value" actions) update `self.prefs`."""
        if not plan:
            raise ValueError("a session needs at least one exercise")
        self.plan = plan
        self.affected_side = affected_side
        self.previous = dict(previous or {})     # {exercise_id: synkinesis-free rate} from the last session
        self.targets = dict(targets or {})
        self.welcome_s, self.ready_s = welcome_s, ready_s
        self.history = history
        self.prefs = dict(prefs or {})
        self._settings_due = prefs is not None
        self.gate: QualityGate | None = None
        self._pose_hint = ""
        self._neck: tuple[NeckStates, str] = ((), "")
        self.state: State = "welcome"
        self.tallies = [ExerciseTally(ex) for ex in plan]
        self.ex_i = 0
        self.baseline: Baseline | None = None
        self.detector: Detector | None = None
        self.status: Status = "in-progress"
        self._state_t: float | None = None
        self.calibrator = Calibrator()
        self._last_face_t: float | None = None
        self._paused_from: State | None = None
        self._pause_reason: PauseReason = ""
        self._gap_start: float | None = None
        self._last_t = 0.0
        self._alert = Alert()        # the Careful banner and its sound
        self._points: Points | None = None    # landmarks for the mirror and mesh views
        self._frame_width = 640
        self._back_to: State = "welcome"    # where "Your progress" returns
        self.prompter: Prompter | None = None
        self.trace = SideTrace()
        self.demo: Demonstration | None = None
        self.reminder: str | None = None   # what a reminder on a screen without a prompt says (calibrate, paused)
        self._cue_t = 0.0            # when the last cue sounded
        self._phases = Phases()      # the exercise phases' rules and running state

    # ---- helpers ------------------------------------------------------------------
    @property
    def _det(self) -> Detector:
        assert self.detector is not None, "no exercise under way"
        return self.detector

    @property
    def _prompter(self) -> Prompter:
        assert self.prompter is not None, "no exercise under way"
        return self.prompter

    @property
    def _gate(self) -> QualityGate:
        assert self.gate is not None, "no exercise under way"
        return self.gate

    @property
    def exercise(self) -> Exercise:
        return self.plan[min(self.ex_i, len(self.plan) - 1)]

    @property
    def tally(self) -> ExerciseTally:
        return self.tallies[min(self.ex_i, len(self.tallies) - 1)]

    @property
    def pause_reason(self) -> PauseReason:
        """Why the session is paused: "user", "face", "camera_lost", or "" when it is not."""
        return self._pause_reason

    def _go(self, state: State, t: float) -> None:
        self.state, self._state_t = state, t

    def _elapsed(self, t: float) -> float:
        if self._state_t is None:
            self._state_t = t
        return t - self._state_t

    # ---- the one verb ---------------------------------------------------------------
    def step(self, frame: LandmarkFrame | None, t: float, actions: Sequence[str] = (), *,
             camera_lost: bool = False, brightness: float | None = None) -> StepResult:
        records: list[Record] = []
        cue: Cue | None = None
        m = self._observe(frame, t)
        for action in once(actions):
            cue = self._act(action, t, records) or cue
        self.reminder = None
        if self.state not in ("summary", "progress"):
            cue = self._check_gaps(m, t, camera_lost, records) or cue
            cue = self._advance(m, frame, t, brightness, records) or cue
            cue = cue or self._remind(t)
        if cue:
            self._cue_t = t
        return StepResult(self._view(t, cue), tuple(records))

    def planned_s(self, state: str | None = None) -> float | None:
        """How long `state` (default: the current one) is planned to last; None for the screens that wait
        on a choice (welcome, progress, summary, a pause the patient asked for, stop?, the camera)."""
        return planned_s(state or self.state, self.exercise, self._pause_reason)

    def _remind(self, t: float) -> Cue | None:
        """A state REMIND_S past its planned length since its start or its last cue sounds one again."""
        due = reminder(self.state, self.planned_s(), max(self._state_t if self._state_t is not None else t,
                                                         self._cue_t), t)
        if due is None:
            return None
        if due.words is not None:
            self.reminder = due.words
        if due.prompt is not None:
            self._prompter.show(t, *due.prompt)
        return due.cue

    def _observe(self, frame: LandmarkFrame | None, t: float) -> Measures | None:
        self._last_t = t
        m = measure(frame) if frame is not None and frame.has_face else None
        self._points = frame.points if frame is not None and m is not None else None
        if frame is not None and m is not None:
            self._last_face_t = t
            self._frame_width = frame.width
        return m

    def _check_gaps(self, m: Measures | None, t: float, camera_lost: bool, records: list[Record]) -> Cue | None:
        """Camera or face gone: pause, and let nothing in the gap count; resume when they are back.
        A lost face is said (the patient may have their eyes shut)."""
        face_gone = m is None and (self._last_face_t is None or t - self._last_face_t > FACE_LOST_S)
        if self.state not in NO_GAP_STATES and (camera_lost or (face_gone and self.state != "calibrate")):
            self._pause(t, "camera_lost" if camera_lost else "face", records)
            if not camera_lost:
                self.reminder = views.FACE_CAMERA
                return "nudge"
        elif self.state == "camera_lost" and not camera_lost:
            self._resume(t, records)
        elif self.state == "paused" and self._pause_reason == "face" and m is not None:
            self._resume(t, records)
        return None

    def _advance(self, m: Measures | None, frame: LandmarkFrame | None, t: float, brightness: float | None,
                 records: list[Record]) -> Cue | None:
        if self.state == "welcome" and self.welcome_s is not None and self._elapsed(t) >= self.welcome_s:
            self._go("calibrate", t)
        if self.state == "calibrate":
            return self._calibrate(m, frame, t, brightness, records)
        if self.state in EXERCISE_STATES:
            return self._exercise_step(m, t, records)
        return None

    def end(self, t: float) -> StepResult:
        """The source has ended (a replay or video ran out): close and show the summary."""
        records: list[Record] = []
        cue: Cue | None = None
        ended = self.state == "summary" or (self.state == "progress" and self._back_to == "summary")
        if not ended:
            cue = self._finish(t, records, "completed" if self._all_done() else "interrupted")
        return StepResult(self._view(t, cue), tuple(records))

    # ---- actions --------------------------------------------------------------------
    def _act(self, action: str, t: float, records: list[Record]) -> Cue | None:
        if action.startswith("set:"):
            self._remember(action[4:])
            return None
        if self.state == "confirm_quit":
            return self._answer_quit(action, t, records)
        handler = {"quit": self._ask_quit, "stop": self._ask_quit, "pause": self._toggle_pause,
                   "space": self._space, "resume": self._resume_user, "skip": self._skip,
                   "yes": self._begin, "key:enter": self._begin, "ready": self._begin,
                   "progress": self._progress, "back": self._back}.get(action)
        return handler(t, records) if handler else None

    def _remember(self, setting: str) -> None:
        name, _, value = setting.partition("=")
        if name:
            self.prefs[name] = value

    def _answer_quit(self, action: str, t: float, records: list[Record]) -> Cue | None:
        if action in ("yes", "quit", "stop", "key:enter"):
            return self._finish(t, records, "completed" if self._all_done() else "interrupted")
        if action in ("no", "pause", "resume", "space", "back"):
            self._go(self._paused_from or "instruct", t)
        return None

    def _ask_quit(self, t: float, records: list[Record]) -> None:
        if self.state not in ("summary", "progress"):
            self._paused_from = self.state
            self._end_detector(records)
            self.state = "confirm_quit"

    def _toggle_pause(self, t: float, records: list[Record]) -> None:
        if self.state == "paused" and self._pause_reason == "user":
            self._resume(t, records)
        elif self.state not in ("welcome", "progress", "summary", "paused", "camera_lost"):
            self._pause(t, "user", records)

    def _resume_user(self, t: float, records: list[Record]) -> None:
        if self.state == "paused" and self._pause_reason == "user":
            self._resume(t, records)

    def _space(self, t: float, records: list[Record]) -> Cue | None:
        """Space: Ready on the welcome, progress and instructions screens; elsewhere pause."""
        if self.state in ("welcome", "instruct", "progress"):
            return self._begin(t, records)
        self._toggle_pause(t, records)
        return None

    def _skip(self, t: float, records: list[Record]) -> Cue | None:
        if self.state == "welcome":
            self._go("calibrate", t)
        elif self.state in ("instruct", "countdown"):
            return self._start_reps(t)
        elif self.state in ("move", "hold", "relax", "rest", "paused"):
            return self._next_exercise(t, records)
        return None

    def _begin(self, t: float, records: list[Record]) -> Cue | None:
        if self.state == "welcome":
            self._go("calibrate", t)
        elif self.state == "instruct":
            return self._countdown(t)
        elif self.state == "progress":
            self._back(t, records)
        return None

    def _progress(self, t: float, records: list[Record]) -> None:
        if self.history is not None and self.state in ("welcome", "summary"):
            self._back_to = self.state
            self._go("progress", t)

    def _back(self, t: float, records: list[Record]) -> None:
        if self.state == "progress":
            self._go(self._back_to, t)

    def _pause(self, t: float, reason: Literal["user", "face", "camera_lost"], records: list[Record]) -> None:
        self._end_detector(records)
        self._paused_from = self.state if self.state not in ("paused", "camera_lost") else self._paused_from
        self._pause_reason = reason
        self._gap_start = self._last_face_t if reason == "face" and self._last_face_t is not None else t
        self.state = "camera_lost" if reason == "camera_lost" else "paused"

    def _resume(self, t: float, records: list[Record]) -> None:
        if self._pause_reason in ("face", "camera_lost") and self._gap_start is not None:
            records.append(Gap("face_lost" if self._pause_reason == "face" else "camera_lost",
                               self.exercise.id, self._gap_start, t))
        before = self._paused_from or "calibrate"
        self._paused_from, self._pause_reason, self._gap_start = None, "", None
        # Back where we were; a rep interrupted by the pause starts again.
        self._go(before if before in ("calibrate", "instruct") else "move", t)
        if self.state == "calibrate":
            self.calibrator.restart()
        elif self.state == "move":
            self._start_move(t)

    def _end_detector(self, records: list[Record]) -> None:
        """Close anything under way; a rep cut off by a pause or quit does not count."""
        if self.detector is not None:
            self._collect(self.detector.update(None, self._last_t), records, counted=False)

    # ---- calibration ----------------------------------------------------------------
    def _calibrate(self, m: Measures | None, frame: LandmarkFrame | None, t: float, brightness: float | None,
                   records: list[Record]) -> Cue | None:
        baseline = self.calibrator.add(m, frame, t, brightness, self._frame_width)
        if baseline is None:
            return None
        self.baseline = baseline
        records.append(Calibrated(t, baseline))
        return self._start_exercise(t, records)

    # ---- exercises ------------------------------------------------------------------
    def _start_exercise(self, t: float, records: list[Record]) -> Cue | None:
        ex = self.exercise
        assert self.baseline is not None             # calibration comes first
        self.detector = Detector(ex, self.affected_side, noise=self.baseline.noise,
                                 start_target=self.targets.get(ex.id))
        self.gate = QualityGate.for_exercise(self.baseline.pose, ex)
        self.prompter = Prompter(ex.gentle)
        self.trace.clear()
        self.demo = None
        if self.calibrator.calm is not None:
            self.demo = Demonstration(self.calibrator.calm, ex.prime, self.detector.target, ex.move_s, ex.hold_s, ex.relax_s)
        records.append(SetStarted(t, ex.id, ex.reps))
        self._go("instruct", t)
        return None

    def _countdown(self, t: float) -> Cue:
        self._go("countdown", t)
        return self._phases.countdown()

    def _start_reps(self, t: float) -> Cue:
        self._go("move", t)
        return self._phases.start_reps(t, len(self.tally.reps), self.prompter)

    def _start_move(self, t: float) -> None:
        self._phases.start_move(len(self.tally.reps), self.prompter)

    def _next_exercise(self, t: float, records: list[Record]) -> Cue | None:
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

    def _finish(self, t: float, records: list[Record], status: Literal["completed", "interrupted"]) -> Cue | None:
        """End the session with `status`; the "Session done" cue (a green star, "All done. Well done!")
        only for a completed one: a session ended early is titled "Session ended", with no praise."""
        self._end_detector(records)
        if self.ex_i < len(self.plan):          # (after the last exercise, _next_exercise ended its set)
            records.append(self._set_ended(t))
        self.status = status
        self.ex_i = min(self.ex_i, len(self.plan) - 1)
        records.append(Ended(t, status))
        self._go("summary", t)
        return "session_done" if status == "completed" else None

    def _collect(self, happenings: Sequence[Happening], records: list[Record], counted: bool = True) -> Cue | None:
        cue: Cue | None = None
        ex_id = self.exercise.id
        for h in happenings:
            if isinstance(h, RepEnded):
                # A set never counts more reps than planned (a fast replay can start one during the rest).
                # Practice: made before Ready's 3-2-1 ended (a rep ends RELEASE_S after it fell back).
                practice = self.state in ("instruct", "countdown") or h.rep.end_s < self._phases.reps_from
                if counted and h.rep.complete and not practice and len(self.tally.reps) < self.exercise.reps:
                    rep = replace(h.rep, **rep_evenness(self.trace, h.rep.start_s, h.rep.peak_s, h.rep.end_s,
                                                        self.affected_side),
                                  short_hold=self.state == "hold" and self._phases.hold.short)
                    self.tally.reps.append(rep)
                    records.append(RepEnded(rep, ex_id))
                    cue = "rep_done"
            elif isinstance(h, SynkinesisStarted):
                self._alert.start(self.exercise, h)
            elif isinstance(h, SynkinesisEnded):
                self.tally.events.append(h.event)
                records.append(SynkinesisEnded(h.event, ex_id))
        self._alert.settle(self.detector)
        return cue

    @property
    def banner(self) -> tuple[str, Highlight] | None:
        """The alert to show now: only during the move and hold phases."""
        return self._alert.banner(self.state)

    def _exercise_step(self, m: Measures | None, t: float, records: list[Record]) -> Cue | None:
        cue = self._feed(m, t, records) if m is not None and self.baseline is not None else None
        level = self._det.level if m is not None else 0.0
        to, phase_cue = self._phases.step(self.state, t, self._elapsed(t), level, self._det, self.exercise,
                                          len(self.tally.reps), self._prompter, ready_s=self.ready_s,
                                          rep_done=cue == "rep_done")
        if to is not None:
            self._go(to, t)
        cue = phase_cue or cue
        cue = cue or self._alert.sound(self.state)       # a phase change's cue first; the alert then sounds next frame
        if self._prompter.update(t, self.state, self._elapsed(t), level, self._det.side_levels,
                                self._det.in_rep) and self.banner is None:
            cue = cue or "nudge"
        if len(self.tally.reps) >= self.exercise.reps and self.state in ("rest", "move") and not self._det.in_rep:
            cue = self._next_exercise(t, records) or cue
        return cue

    def _feed(self, m: Measures, t: float, records: list[Record]) -> Cue | None:
        """One frame to the detector: judged only when pose and tracking allow; the move and
        hold phases say what the patient is trying to do."""
        assert self.baseline is not None
        rel = relative(m, self.baseline)
        reason = self._gate.check(m)
        intent = self.state in ALERT_STATES
        happenings = self._det.update(rel, t, judged=reason is None, intent=intent)
        self.trace.add(t, self._det.side_levels)
        cue = self._collect(happenings, records)
        self._pose_hint = self._gate.prompt
        self._neck = neck_readout(self.exercise, self._det, rel, self.baseline, m)
        if rel is not None:
            records.append(Sample(t, self.exercise.id, rel))
        return cue

    # ---- the moment and its view ----------------------------------------------------------
    def moment(self, t: float | None = None) -> Moment:
        """The session now (at `t`, else at the last step), as the screens see it."""
        t = self._last_t if t is None else t
        ex, state = self.exercise, self.state
        elapsed = t - self._state_t if self._state_t is not None else 0.0
        countdown, hold_fraction = countdown_at(state, t, elapsed, ex, self.calibrator, self._phases.hold.left)
        demo_points, demo_phase = demonstration_at(self.demo, state, elapsed)
        prompter = self.prompter
        return Moment(
            t=t, state=state, status=self.status, pause_reason=self._pause_reason, exercise=ex,
            place=Place(self.ex_i + 1, len(self.plan), len(self.tally.reps), ex.reps), ticks=self._phases.ticks,
            countdown_s=countdown, hold_fraction=hold_fraction, banner=self.banner,
            meters=meters(self.detector, ex, self.banner is not None),
            prompt=prompter.prompt if prompter is not None else None, pose_hint=self._pose_hint,
            calibrate_hint=self.calibrator.hint, points=self._points, demo_points=demo_points,
            demo_phase=demo_phase, sets=tuple(SetSoFar(tl.exercise, tuple(tl.reps)) for tl in self.tallies),
            reached=self.ex_i, previous=dict(self.previous), history=self.history,
            reminder=self.reminder, neck=self._neck[0], neck_hint=self._neck[1])

    def _view(self, t: float, cue: Cue | None) -> FeedbackView:
        view = views.compose(self.moment(t), cue)
        if self._settings_due:
            self._settings_due = False
            view = replace(view, settings=dict(self.prefs))
        return view

    def summary_rows(self) -> tuple[tuple[str, str], ...]:
        """Per exercise, in words: reps done, reps free of co-movement, evenness, the best rep, change since
        last time."""
        return views.summary_rows(self.moment())

    def summary_table(self) -> tuple[tuple[str, ...], ...]:
        return views.summary_table(self.moment())

