"""Rep segmentation and synkinesis detection, one frame at a time.

`Detector.update(rel, t)` takes one frame's relative measures (from
`calibration.relative`, or None when the face is lost) and returns what happened
on that frame (RepStarted, RepEnded, SynkinesisStarted, SynkinesisEnded).

Reps: the prime movement's level (1.0 = the exercise's target) rises past
ON_LEVEL, stays up at least MIN_REP_S and falls back below OFF_LEVEL for
RELEASE_S. Hysteresis (ON > OFF) and the minimum duration keep jitter and blinks
from counting as reps. Onset is back-dated to when the level last left rest.

Synkinesis: a watched co-movement on one side that (a) happens while the prime
movement is under way ("timed with the prime movement"), (b) meets the
exercise's threshold, difference and ratio against the patient's other side
(see `exercises.WATCH_DEFAULTS` for the published figures behind them), and
(c) is held for SYNK_MIN_S. A natural blink closes *both* eyes for at most
~0.5 s, so it fails the side-to-side test; frames where both eyes are closed are
treated as a blink and neither start nor end an event (for up to BLINK_MAX_S, and
BLINK_RECOVERY_S after it, while the lids reopen), so a blink in the middle of a
held narrowing does not split it, and an eye slow to reopen is not synkinesis.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from coach.core.calibration import REL_INDEX
from coach.core.events import (Rep, RepEnded, RepStarted, Synkinesis, SynkinesisEnded,
                               SynkinesisStarted)
from coach.core.exercises import Exercise, Watch
from coach.core.face import SIDES

ON_LEVEL = 0.40        # a rep starts when the movement reaches 40 % of target …
OFF_LEVEL = 0.25       # … and ends when it falls below 25 % (hysteresis)
ONSET_LEVEL = 0.12     # onset is back-dated to when the level last left rest
MIN_REP_S = 0.5        # a natural blink lasts at most ~0.5 s: shorter excursions are not reps
RELEASE_S = 0.2        # the level must stay below OFF_LEVEL this long to end a rep
HOLD_FRACTION = 0.8    # "holding" = at least 80 % of the rep's peak

SYNK_MIN_S = 0.3       # a co-movement must last this long to be an event
SYNK_GAP_S = 0.5       # a dip this short (jitter, or a blink the tracker reads only partly) does not end an event
SYNK_OFF = 0.7         # hysteresis: an event lasts while its criteria stay above 70 % of the onset ones
SYNK_ONSET = 0.3       # onset back-dated to when the side-to-side difference passed 30 % of min_difference
BLINK_CLOSURE = 0.5    # both eyes ≥ 50 % narrower than neutral: a blink (or both eyes shut)
BLINK_MAX_S = 0.5      # natural blinks close for at most ~0.5 s
BLINK_RECOVERY_S = 0.4 # the lids take a moment to reopen fully, and the tracker lags them, often unevenly
SMOOTH_FRAMES = 3      # median of the last 3 frames: removes single-frame tracker glitches

_EYE = REL_INDEX["eye_opening"]


@dataclass
class _SideWatch:
    """State of one watched co-movement on one side."""

    pending_since: float | None = None
    quiet_t: float = 0.0          # last time the side-to-side difference was near zero
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
    peak_by_side: dict = field(default_factory=dict)
    levels: list = field(default_factory=list)    # (t, level)
    synk_peak: float = 0.0
    synk: bool = False


class Detector:
    """Stateful, pure: feed it frames in time order with `update`; `finish` at the end."""

    def __init__(self, exercise: Exercise, affected_side: str | None = None):
        if affected_side not in (None, *SIDES):
            raise ValueError(f"affected side must be left or right, not {affected_side!r}")
        self.exercise = exercise
        self.affected_side = affected_side
        self._prime_i = REL_INDEX[exercise.prime.measure]
        self._watch_i = [REL_INDEX[w.measure] for w in exercise.watches]
        self._sides = [SIDES.index(affected_side)] if affected_side else [0, 1]
        self._history: list[np.ndarray] = []
        self._rep: _RepState | None = None
        self._quiet_t = 0.0
        self._last_t: float | None = None
        self._blink_since: float | None = None
        self._blink_end: float | None = None
        self._after_gap = False
        self._watch = [[_SideWatch(), _SideWatch()] for _ in exercise.watches]
        self.reps: list[Rep] = []
        self.events: list[Synkinesis] = []
        # Per-frame read-outs for the meters.
        self.level = 0.0
        self.side_levels = np.zeros(2)
        self.watch_amounts = np.zeros((len(exercise.watches), 2))
        # How close each side is to an alert (1.0 = the onset criteria are met), for the meters.
        self.watch_scores = np.zeros((len(exercise.watches), 2))

    # ---- the one verb -------------------------------------------------------------
    def update(self, rel: np.ndarray | None, t: float) -> list:
        if rel is None:
            return self._face_lost()
        out: list = []
        if self._after_gap:  # onsets are never back-dated across a gap
            self._after_gap = False
            self._quiet_t = t
            for sides in self._watch:
                for st in sides:
                    st.quiet_t = t
        self._history.append(rel)
        if len(self._history) > SMOOTH_FRAMES:
            self._history.pop(0)
        r = np.median(np.stack(self._history), axis=0) if len(self._history) > 1 else rel
        prime = self.exercise.prime
        self.side_levels = prime.direction * r[self._prime_i] / prime.target
        # The better side drives rep timing: a paralysed side may barely move.
        self.level = float(self.side_levels.max())
        self._update_rep(r, t, out)
        self._update_watches(r, t, out)
        self._last_t = t
        return out

    def finish(self) -> list:
        """End of the clip or session: close whatever is open, as incomplete."""
        if self._last_t is None:
            return []
        return self._close_all(self._last_t, complete=False)

    # ---- reps ---------------------------------------------------------------------
    def _update_rep(self, r: np.ndarray, t: float, out: list) -> None:
        level, rep = self.level, self._rep
        if rep is None:
            if level < ONSET_LEVEL:
                self._quiet_t = t
            if level >= ON_LEVEL:
                self._rep = rep = _RepState(onset=self._quiet_t, crossed=t)
            else:
                return
        rep.levels.append((t, level))
        if level > rep.peak:
            rep.peak, rep.peak_t = level, t
            side_vals = r[self._prime_i]
            rep.peak_by_side = {s: float(side_vals[i]) for i, s in enumerate(SIDES)}
        if level < OFF_LEVEL:
            if rep.below_since is None:
                rep.below_since = t
            if not rep.confirmed:
                self._rep = None           # too short: a blink or a twitch, not a rep
                self._quiet_t = t
                return
            if t - rep.below_since >= RELEASE_S:
                out.extend(self._end_rep(rep.below_since, complete=True))
                self._quiet_t = t
            return
        rep.below_since = None
        if not rep.confirmed and t - rep.crossed >= MIN_REP_S:
            rep.confirmed = True
            out.append(RepStarted(rep.onset))

    def _end_rep(self, end_t: float, complete: bool) -> list:
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
                   synkinesis=rep.synk, complete=complete)
        self.reps.append(done)
        out.append(RepEnded(done))
        return out

    # ---- synkinesis ---------------------------------------------------------------
    def _update_watches(self, r: np.ndarray, t: float, out: list) -> None:
        # "Timed with the prime movement": a rep under way, or a movement that is clearly
        # up even if this patient's side never reaches the rep threshold.
        moving = self._rep is not None or self.level >= OFF_LEVEL
        both_closed = bool((-r[_EYE] >= BLINK_CLOSURE).all())
        if both_closed:
            self._blink_since = t if self._blink_since is None else self._blink_since
        elif self._blink_since is not None:
            self._blink_since, self._blink_end = None, t
        blink = ((self._blink_since is not None and t - self._blink_since <= BLINK_MAX_S)
                 or (self._blink_end is not None and t - self._blink_end < BLINK_RECOVERY_S))
        for wi, w in enumerate(self.exercise.watches):
            amounts = w.direction * r[self._watch_i[wi]]      # > 0 = co-movement
            self.watch_amounts[wi] = amounts
            self.watch_scores[wi] = [_score(amounts[i], amounts[1 - i], w) for i in (0, 1)]
            if self._rep is not None:
                self._rep.synk_peak = max(self._rep.synk_peak, float(amounts[self._sides].max()))
            frozen = blink and w.measure == "eye_opening"
            for si in self._sides:
                self._update_side(wi, w, si, amounts[si], amounts[1 - si], moving, frozen, t, out)

    def _update_side(self, wi: int, w: Watch, si: int, a: float, a_other: float, moving: bool,
                     frozen: bool, t: float, out: list) -> None:
        st = self._watch[wi][si]
        if a - a_other < SYNK_ONSET * w.min_difference:
            st.quiet_t = t
        if frozen:  # a blink, or the eyes reopening after one: hold the state as it is
            if st.active:
                st.last_true_t = t
            return
        held = moving and _meets(a, a_other, w, SYNK_OFF)
        if held and a > st.peak:
            st.peak, st.peak_control = a, a_other
        if st.active:
            if held:
                st.last_true_t = t
            elif t - st.last_true_t > SYNK_GAP_S or not moving:
                out.extend(self._end_side(wi, si, st.last_true_t))
            return
        if st.pending_since is None:
            if moving and _meets(a, a_other, w, 1.0):
                st.pending_since = t
                st.start_s = max(st.quiet_t, self._rep.onset if self._rep else self._quiet_t)
                st.peak, st.peak_control = a, a_other
        elif not held:
            st.pending_since, st.peak = None, 0.0
        elif t - st.pending_since >= SYNK_MIN_S:
            st.active, st.last_true_t = True, t
            if self._rep is not None:
                self._rep.synk = True
            out.append(SynkinesisStarted(SIDES[si], w.measure, round(st.start_s, 3), t, w.message, w.region))

    def _end_side(self, wi: int, si: int, end_t: float) -> list:
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

    def _end_watches(self, end_t: float) -> list:
        out = []
        for wi in range(len(self._watch)):
            for si in self._sides:
                st = self._watch[wi][si]
                out.extend(self._end_side(wi, si, min(end_t, st.last_true_t) if st.active else end_t))
        return out

    # ---- gaps -----------------------------------------------------------------------
    def _face_lost(self) -> list:
        """Nothing spans a gap: close everything at the last frame that had a face."""
        self._history.clear()
        self._after_gap = True
        self.level = 0.0
        if self._last_t is None:
            return []
        return self._close_all(self._last_t, complete=False)

    def _close_all(self, t: float, complete: bool) -> list:
        out = []
        if self._rep is not None:
            out.extend(self._end_rep(t, complete))
        out.extend(self._end_watches(t))
        self._blink_since = self._blink_end = None
        return out

    @property
    def active_synkinesis(self) -> list[tuple[str, str]]:
        """(measure, side) pairs with an event under way, for the banner and highlight."""
        return [(w.measure, SIDES[si]) for wi, w in enumerate(self.exercise.watches)
                for si in self._sides if self._watch[wi][si].active]

    @property
    def in_rep(self) -> bool:
        return self._rep is not None and self._rep.confirmed


def _meets(a: float, a_other: float, w: Watch, scale: float) -> bool:
    """The side-to-side test; `scale` < 1 gives the looser criteria that keep an event going."""
    ratio = 1.0 + (w.min_ratio - 1.0) * scale
    return (a >= w.threshold * scale and a - a_other >= w.min_difference * scale
            and a >= ratio * max(a_other, 0.0))


def _score(a: float, a_other: float, w: Watch) -> float:
    """The tightest of the three onset criteria, as a fraction met (≥ 1: all met)."""
    return float(max(0.0, min(a / w.threshold, (a - a_other) / w.min_difference,
                              a / (w.min_ratio * a_other) if a_other > 0 else np.inf)))
