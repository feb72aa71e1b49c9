"""Rep segmentation and synkinesis detection, one frame at a time.

`Detector.update(rel, t, judged=..., intent=...)` takes one frame's relative
measures (from `calibration.relative`, or None when the face is lost) and returns
what happened on that frame (RepStarted, RepEnded, SynkinesisStarted,
SynkinesisEnded). The steps, each named below:

1. **Movement under way** (`_update_movement`). The prime movement is under way
   when, on either side, it clearly exceeds this patient's own neutral jitter
   (MOVE_NOISE_K baseline SDs) and at least MOVE_FLOOR, not when it reaches a
   fraction of a fixed target: therapists ask for small movements (effort 2–3 of
   10), and the affected side moves least. In the live coach the move and hold
   phases say what the patient is trying to do (`intent`): an attempted smile that
   barely moves the mouth but narrows the eye is the classic picture of
   synkinesis, so co-movement is judged then too.
2. **Reps** (`_update_rep`), against this patient's target (`TargetLearner`): a
   rep is a movement under way whose level (1.0 = target) rises past ON_LEVEL,
   stays up at least MIN_REP_S (longer than a blink) and falls back below
   OFF_LEVEL for RELEASE_S. Onset is back-dated to when the movement left rest.
3. **Co-movement** (`_update_watches`), whenever the movement is under way and the
   frame can be judged (head near frontal, landmarks trustworthy: see
   `quality.py`). Each watched co-movement has its exercise's rule: side-to-side,
   absolute (against the healthy norm, from the patient's neutral face) or both
   (see `exercises.py`). Both sides may be flagged: synkinesis can be bilateral.
   A co-movement must be held SYNK_MIN_S to be an event.
4. **Blinks** close *both* eyes for at most ~0.5 s; frames where both eyes are
   closed neither start nor end an eye event (for up to BLINK_MAX_S, and
   BLINK_RECOVERY_S after, while the lids reopen), so a blink inside a held
   narrowing does not split it, and neither a blink nor an eye slow to reopen is
   synkinesis. Synkinetic narrowing is held, and timed with the prime movement.
5. **Gaps**: a lost face or an unjudged frame closes what is open at the last good
   frame; nothing starts or spans the gap, and onsets are never back-dated across it. A
   side read from the picture that cannot be read (NaN: the chin or neck not in view) is
   never flagged, and as the other side's control it stands at the healthy norm.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coach.core.calibration import REL_INDEX
from coach.core.events import (Happening, Rep, RepEnded, RepStarted, Synkinesis, SynkinesisEnded,
                               SynkinesisStarted)
from coach.core.exercises import Exercise, Watch
from coach.core.face import SIDES

# Movement under way: the must-flag rule's "at least 2 %", and clearly above this face's jitter.
MOVE_FLOOR = 0.02
MOVE_NOISE_K = 3.0     # baseline SDs (the median of 3 frames jitters less than one frame)
MOVE_OFF = 0.6         # hysteresis: under way until the movement falls below 60 % of the gate
MOVE_QUIET = 0.5       # below half the gate the face is at rest (movement onsets are dated from here)

ON_LEVEL = 0.40        # a rep starts when the movement reaches 40 % of the patient's target …
OFF_LEVEL = 0.25       # … and ends when it falls below 25 % (hysteresis)
MIN_REP_S = 0.5        # a natural blink lasts at most ~0.5 s: shorter excursions are not reps
RELEASE_S = 0.2        # the level must stay below OFF_LEVEL this long to end a rep
HOLD_FRACTION = 0.8    # "holding" = at least 80 % of the rep's peak

LEARN_REPS = 3         # the learned target is the median peak of the last 3 movements, once there are 3
LEARN_STEP = 1.5       # one movement moves the target by at most ×1.5 (up) or ÷1.5 (down)
SESSION_FACTOR = 1.5   # within a session the target stays within ×/÷1.5 of the last session's
TARGET_MIN = MOVE_FLOOR  # a target below the movement floor could never be reached

SYNK_MIN_S = 0.3       # a co-movement must last this long to be an event
SYNK_GAP_S = 0.5       # a dip this short (jitter, or a blink the tracker reads only partly) does not end an event
SYNK_OFF = 0.7         # hysteresis: an event lasts while its criteria stay above 70 % of the onset ones
SYNK_ONSET = 0.3       # onset back-dated to when the co-movement passed 30 % of its criteria
ABS_NOISE_K = 4.0      # the absolute test also needs 4 baseline SDs of this side's own jitter
BLINK_CLOSURE = 0.35   # both eyes ≥ 35 % narrower than neutral at once: a blink (or both eyes shut). Small
                       # faces read a blink as only 40–60 % closure, and the 3-frame median halves a 2-frame
                       # blink, so blinks are seen in the raw frame as well as the smoothed one
BLINK_MAX_S = 0.5      # natural blinks close for at most ~0.5 s
BLINK_RECOVERY_S = 0.4 # the lids take a moment to reopen fully, and the tracker lags them, often unevenly
SMOOTH_FRAMES = 3      # median of the last 3 frames: removes single-frame tracker glitches

_EYE = REL_INDEX["eye_opening"]


class TargetLearner:
    """This patient's range for the prime movement, with one verb: `add(peak)`, learned calmly.

    A therapist's target (`fixed`) is kept as it is. Otherwise the target starts
    from the previous sessions' learned value, or the exercise file's, and moves
    toward the median peak of the last LEARN_REPS movements the patient made
    (whether or not they counted as reps): not before there are LEARN_REPS of
    them, by at most LEARN_STEP a movement, within SESSION_FACTOR of the last
    session's value (when it started from one), never above the exercise's own
    target (a gentle exercise stays gentle) nor below TARGET_MIN."""

    def __init__(self, start: float, cap: float, fixed: bool = False, source: str = "exercise"):
        self.target = self.start = float(start)
        self.cap = max(float(cap), float(start)) if fixed else float(cap)
        self.fixed = fixed
        self.source = "plan" if fixed else source
        self._from_previous = source == "previous"
        self.peaks: list[float] = []

    def add(self, peak: float) -> float:
        if self.fixed or not np.isfinite(peak) or peak <= 0:
            return self.target
        self.peaks.append(float(peak))
        if len(self.peaks) < LEARN_REPS:
            return self.target
        goal = float(np.clip(np.median(self.peaks[-LEARN_REPS:]), self.target / LEARN_STEP,
                             self.target * LEARN_STEP))
        if self._from_previous:
            goal = float(np.clip(goal, self.start / SESSION_FACTOR, self.start * SESSION_FACTOR))
        self.target = float(np.clip(goal, TARGET_MIN, self.cap))
        self.source = "learned"
        return self.target


@dataclass
class _SideWatch:
    """State of one watched co-movement on one side."""

    pending_since: float | None = None
    quiet_t: float = 0.0          # last time the co-movement was near zero
    active: bool = False
    start_s: float = 0.0
    last_true_t: float = 0.0
    peak: float = 0.0             # largest co-movement amount (direction-adjusted, > 0)
    peak_control: float = 0.0


@dataclass
class _RepState:
    onset: float
    crossed: float
    confirmed: bool = False
    below_since: float | None = None
    peak: float = 0.0
    peak_t: float = 0.0
    peak_by_side: dict[str, Any] = field(default_factory=dict)
    levels: list[tuple[float, float]] = field(default_factory=list)    # (t, level)
    synk_peak: float = 0.0
    synk_by_side: list[float] = field(default_factory=lambda: [0.0, 0.0])   # both sides, even when one is judged
    synk: bool = False


class Detector:
    """Stateful, pure: feed it frames in time order with `update`; `finish` at the end.

    `noise` is the baseline's per-measure jitter (`Baseline.noise`); `start_target`
    the target learned in previous sessions (ignored when the plan fixes one)."""

    def __init__(self, exercise: Exercise, affected_side: str | None = None, *, noise: np.ndarray | None = None,
                 start_target: float | None = None):
        if affected_side not in (None, *SIDES):
            raise ValueError(f"affected side must be left or right, not {affected_side!r}")
        self.exercise = exercise
        self.affected_side = affected_side
        prime = exercise.prime
        self._prime_i = REL_INDEX[prime.measure]
        self._watch_i = [REL_INDEX[w.measure] for w in exercise.watches]
        self._sides = [SIDES.index(affected_side)] if affected_side else [0, 1]
        noise = np.zeros((len(REL_INDEX), 2)) if noise is None else np.nan_to_num(np.asarray(noise, float))
        self.gate = float(max(MOVE_FLOOR, MOVE_NOISE_K * noise[self._prime_i].max()))
        self._watch_noise = [ABS_NOISE_K * noise[i] for i in self._watch_i]
        learned = start_target is not None and not prime.fixed
        start = start_target if start_target is not None and learned else prime.target
        self.learner = TargetLearner(start, prime.target, prime.fixed,
                                     "previous" if learned else "exercise")
        self._history: list[np.ndarray] = []
        self._rep: _RepState | None = None
        self._moving = False
        self._move_peak = 0.0
        self._move_since = 0.0
        self._quiet_t = 0.0
        self._last_t: float | None = None
        self._blink_since: float | None = None
        self._blink_end: float | None = None
        self._after_gap = False
        self._unjudged = False
        self._watch = [[_SideWatch(), _SideWatch()] for _ in exercise.watches]
        self.reps: list[Rep] = []
        self.events: list[Synkinesis] = []
        # Per-frame read-outs for the meters.
        self.amount = 0.0                  # the better side's prime movement (relative change)
        self.level = 0.0                   # … as a fraction of the patient's target
        self.side_levels = np.zeros(2)
        self.watch_amounts = np.zeros((len(exercise.watches), 2))
        # How close each side is to an alert (1.0 = the onset criteria are met), for the meters.
        self.watch_scores = np.zeros((len(exercise.watches), 2))

    @property
    def target(self) -> float:
        return self.learner.target

    # ---- the one verb -------------------------------------------------------------
    def update(self, rel: np.ndarray | None, t: float, *, judged: bool = True, intent: bool = False) -> list[Happening]:
        """`judged`: False when head pose or tracking quality rule the frame out for
        co-movement; `intent`: the live coach is asking for the movement now."""
        if rel is None:
            return self._face_lost()
        out: list[Happening] = []
        if self._after_gap:  # onsets are never back-dated across a gap
            self._after_gap = False
            self._quiet_t = t
            self._reset_quiet(t)
        self._history.append(rel)
        if len(self._history) > SMOOTH_FRAMES:
            self._history.pop(0)
        r = np.median(np.stack(self._history), axis=0) if len(self._history) > 1 else rel
        prime = self.exercise.prime
        amounts = prime.direction * r[self._prime_i]
        self.amount = float(amounts.max())   # the better side drives timing: a paralysed side may barely move
        self.side_levels = amounts / self.target
        self.level = self.amount / self.target
        self._update_movement(t)
        self._update_rep(r, t, out)
        if judged:
            if self._unjudged:       # nothing is back-dated across frames that could not be judged
                self._unjudged = False
                self._reset_quiet(t)
            self._update_watches(r, t, intent, out)
        else:
            self._unjudged = True
            out.extend(self._end_watches(t))
        self._last_t = t
        return out

    def finish(self) -> list[Happening]:
        """End of the clip or session: close whatever is open, as incomplete."""
        if self._last_t is None:
            return []
        return self._close_all(self._last_t, complete=False)

    # ---- 1. movement under way ------------------------------------------------------
    def _update_movement(self, t: float) -> None:
        a = self.amount
        if a < MOVE_QUIET * self.gate:
            self._quiet_t = t
        if not self._moving and a >= self.gate:
            self._moving, self._move_since, self._move_peak = True, self._quiet_t, a
        elif self._moving:
            self._move_peak = max(self._move_peak, a)
            if a < MOVE_OFF * self.gate:
                self._end_movement(t)

    def _end_movement(self, t: float) -> None:
        # A movement held longer than a blink teaches the target, counted as a rep or not.
        if self._moving and t - self._move_since >= MIN_REP_S:
            self.learner.add(self._move_peak)
        self._moving, self._move_peak = False, 0.0

    @property
    def moving(self) -> bool:
        return self._moving or self._rep is not None

    # ---- 2. reps --------------------------------------------------------------------
    def _update_rep(self, r: np.ndarray, t: float, out: list[Happening]) -> None:
        level, rep = self.level, self._rep
        if rep is None:
            if not (self._moving and level >= ON_LEVEL):
                return
            # Co-movement already under way (judged with the patient's intent) belongs to this rep.
            self._rep = rep = _RepState(onset=self._move_since, crossed=t, synk=bool(self.active_synkinesis))
        rep.levels.append((t, level))
        if level > rep.peak:
            rep.peak, rep.peak_t = level, t
            side_vals = r[self._prime_i]
            rep.peak_by_side = {s: float(side_vals[i]) for i, s in enumerate(SIDES)}
        if level < OFF_LEVEL or not self._moving:
            if rep.below_since is None:
                rep.below_since = t
            if not rep.confirmed:
                self._rep = None           # too short: a blink or a twitch, not a rep
                return
            if t - rep.below_since >= RELEASE_S:
                out.extend(self._end_rep(rep.below_since, complete=True))
            return
        rep.below_since = None
        if not rep.confirmed and t - rep.crossed >= MIN_REP_S:
            rep.confirmed = True
            out.append(RepStarted(rep.onset))

    def _end_rep(self, end_t: float, complete: bool) -> list[Happening]:
        rep, out = self._rep, []
        self._rep = None
        out.extend(self._end_watches(end_t))
        if rep is None or not rep.confirmed:
            return out
        levels = np.array([lv for tt, lv in rep.levels if tt <= end_t] or [rep.peak])
        times = np.array([tt for tt, lv in rep.levels if tt <= end_t] or [rep.peak_t])
        holding = levels >= HOLD_FRACTION * rep.peak
        dt = np.diff(times, append=times[-1])
        hold_levels = levels[holding]
        steady = 1.0 - float(hold_levels.std() / hold_levels.mean()) if hold_levels.size > 1 else 1.0
        done = Rep(index=len(self.reps) + 1, start_s=round(rep.onset, 3), peak_s=round(rep.peak_t, 3),
                   end_s=round(end_t, 3), peak=round(rep.peak, 3), peak_by_side=rep.peak_by_side,
                   time_to_peak_s=round(rep.peak_t - rep.onset, 3), hold_s=round(float(dt[holding].sum()), 3),
                   hold_steadiness=round(max(0.0, steady), 3), synkinesis_peak=round(rep.synk_peak, 3),
                   synkinesis_by_side={s: round(rep.synk_by_side[i], 3) for i, s in enumerate(SIDES)},
                   synkinesis=rep.synk, complete=complete, target=round(self.target, 4))
        self.reps.append(done)
        out.append(RepEnded(done))
        return out

    # ---- 3. co-movement ---------------------------------------------------------------
    def _update_watches(self, r: np.ndarray, t: float, intent: bool, out: list[Happening]) -> None:
        judging = self.moving or intent
        blink = self._blink(r, self._history[-1], t)
        for wi, w in enumerate(self.exercise.watches):
            amounts = w.direction * r[self._watch_i[wi]]      # > 0 = co-movement
            floor = self._watch_noise[wi]
            self.watch_amounts[wi] = amounts
            # A side that cannot be read (a chin or neck the picture does not show) is never flagged;
            # as the other side's control it stands at the healthy norm.
            control = np.where(np.isfinite(amounts), amounts, w.norm or 0.0)
            self.watch_scores[wi] = [_score(amounts[i], float(control[1 - i]), floor[i], w) for i in (0, 1)]
            if self._rep is not None:
                self._rep.synk_peak = max(self._rep.synk_peak, float(amounts[self._sides].max()))
                by_side = self._rep.synk_by_side
                by_side[:] = [max(by_side[i], float(amounts[i])) for i in (0, 1)]
            frozen = blink and w.measure == "eye_opening"
            for si in self._sides:
                self._update_side(wi, w, si, amounts[si], float(control[1 - si]), floor[si], judging, frozen, t, out)

    def _blink(self, r: np.ndarray, raw: np.ndarray, t: float) -> bool:
        """Both eyes closed, for at most a blink's length, or the lids reopening after it."""
        if bool((-r[_EYE] >= BLINK_CLOSURE).all() or (-raw[_EYE] >= BLINK_CLOSURE).all()):
            self._blink_since = t if self._blink_since is None else self._blink_since
        elif self._blink_since is not None:
            self._blink_since, self._blink_end = None, t
        return ((self._blink_since is not None and t - self._blink_since <= BLINK_MAX_S)
                or (self._blink_end is not None and t - self._blink_end < BLINK_RECOVERY_S))

    def _update_side(self, wi: int, w: Watch, si: int, a: float, a_other: float, floor: float, judging: bool,
                     frozen: bool, t: float, out: list[Happening]) -> None:
        st = self._watch[wi][si]
        if not _meets(a, a_other, floor, w, SYNK_ONSET):
            st.quiet_t = t
        if frozen:  # a blink, or the eyes reopening after one: hold the state as it is
            if st.active:
                st.last_true_t = t
            return
        held = judging and _meets(a, a_other, floor, w, SYNK_OFF)
        if held and a > st.peak:
            st.peak, st.peak_control = a, a_other
        if st.active:
            out.extend(self._keep_or_end(wi, si, st, held, judging, t))
        elif st.pending_since is None:
            if judging and _meets(a, a_other, floor, w, 1.0):
                self._pend(st, a, a_other, t)
        elif not held:
            st.pending_since, st.peak = None, 0.0
        elif t - st.pending_since >= SYNK_MIN_S:
            out.append(self._confirm(st, w, si, t))

    def _keep_or_end(self, wi: int, si: int, st: _SideWatch, held: bool, judging: bool, t: float) -> list[Happening]:
        """An event goes on while held; a short dip (SYNK_GAP_S) does not end it, the movement ending does."""
        if held:
            st.last_true_t = t
        elif t - st.last_true_t > SYNK_GAP_S or not judging:
            return self._end_side(wi, si, st.last_true_t)
        return []

    def _pend(self, st: _SideWatch, a: float, a_other: float, t: float) -> None:
        """The criteria are met: an event if they hold SYNK_MIN_S, dated from when it began."""
        st.pending_since = t
        st.start_s = max(st.quiet_t, self._rep.onset if self._rep else self._move_since)
        st.peak, st.peak_control = a, a_other

    def _confirm(self, st: _SideWatch, w: Watch, si: int, t: float) -> SynkinesisStarted:
        st.active, st.last_true_t = True, t
        if self._rep is not None:
            self._rep.synk = True
        return SynkinesisStarted(SIDES[si], w.measure, round(st.start_s, 3), t, w.message, w.region)

    def _end_side(self, wi: int, si: int, end_t: float) -> list[Happening]:
        st, w = self._watch[wi][si], self.exercise.watches[wi]
        if not st.active:
            st.pending_since = None
            return []
        ev = Synkinesis(side=SIDES[si], measure=w.measure, start_s=round(st.start_s, 3), end_s=round(end_t, 3),
                        peak_change=round(float(w.direction * st.peak), 4),
                        control_change=round(float(w.direction * st.peak_control), 4),
                        kind=w.kind, message=w.message)
        self._watch[wi][si] = _SideWatch(quiet_t=end_t)
        self.events.append(ev)
        return [SynkinesisEnded(ev)]

    def _end_watches(self, end_t: float) -> list[Happening]:
        out = []
        for wi in range(len(self._watch)):
            for si in self._sides:
                st = self._watch[wi][si]
                out.extend(self._end_side(wi, si, min(end_t, st.last_true_t) if st.active else end_t))
        return out

    def _reset_quiet(self, t: float) -> None:
        for sides in self._watch:
            for st in sides:
                st.quiet_t = t

    # ---- 5. gaps --------------------------------------------------------------------
    def _face_lost(self) -> list[Happening]:
        """Nothing spans a gap: close everything at the last frame that had a face."""
        self._history.clear()
        self._after_gap = True
        self.level = self.amount = 0.0
        if self._last_t is None:
            return []
        return self._close_all(self._last_t, complete=False)

    def _close_all(self, t: float, complete: bool) -> list[Happening]:
        out = []
        if self._rep is not None:
            out.extend(self._end_rep(t, complete))
        out.extend(self._end_watches(t))
        self._end_movement(t)
        self._blink_since = self._blink_end = None
        return out

    @property
    def active_synkinesis(self) -> list[tuple[str, str]]:
        """(measure, side) pairs with an event under way, for the banner and highlight."""
        return [(w.measure, SIDES[si]) for wi, w in enumerate(self.exercise.watches)
                for si in self._sides if self._watch[wi][si].active]

    @property
    def holding(self) -> bool:
        """Holding: a rep under way, at least HOLD_FRACTION of its peak so far. The live coach's
        hold countdown and the logged `Rep.hold_s` both use this one definition."""
        return self._rep is not None and self.level >= HOLD_FRACTION * self._rep.peak

    @property
    def in_rep(self) -> bool:
        return self._rep is not None and self._rep.confirmed


def _meets(a: float, a_other: float, floor: float, w: Watch, scale: float) -> bool:
    """The exercise's rule; `scale` < 1 gives the looser criteria that keep an event going."""
    if w.side_test:
        ratio = 1.0 + (w.min_ratio - 1.0) * scale
        if (a >= w.threshold * scale and a - a_other >= w.min_difference * scale
                and a >= ratio * max(a_other, 0.0)):
            return True
    return w.absolute_test and a >= max(w.limit, floor) * scale


def _score(a: float, a_other: float, floor: float, w: Watch) -> float:
    """How near the onset criteria are, as a fraction met (≥ 1: met), for the meters."""
    best = 0.0
    if w.side_test:
        ratio = a / (w.min_ratio * a_other) if a_other > 0 else np.inf
        best = min(a / w.threshold, (a - a_other) / w.min_difference, ratio)
    if w.absolute_test:
        best = max(best, a / max(w.limit, floor))
    return float(max(0.0, best))
