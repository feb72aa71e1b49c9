"""Feedback on amount, evenness and timing: pure, one frame at a time.

Retraining asks for small, slow, even movements at an effort of about 2–3 of 10:
both sides start together, move equally, and stop and relax together. The
detector learns each patient's target (1.0), so "too little" and "too much" are
judged against that patient's own band (`progress.TARGET_BAND`), never a
population norm.

`Prompter.update(...)` says, during the move and hold phases, when to prompt:
  * too little: in the move phase for LITTLE_S with no rep under way → "Try a little more."
  * too much: above the band for MUCH_S → "Gentler: about a quarter of your strength."
  * uneven: one side under EVEN_RATIO of the other for EVEN_S, with a movement
    under way → "Match the sides: your left side is behind."
A prompt stays up PROMPT_S (time to read it) and sounds its cue once.

`SideTrace` keeps the detector's per-frame side levels; `rep_evenness(...)`
measures a finished rep from them: the onset lag between the sides (ms), the
affected side's amplitude relative to the other's, and the smoothness of the rise.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from coach.core.face import SIDES
from coach.core.feedback import PromptKind, Side
from coach.core.progress import TARGET_BAND

Levels = Sequence[float] | npt.NDArray[np.floating[Any]]   # (left, right)

LITTLE_S = 4.0        # move phase this long with no rep under way: "try a little more"
MUCH_S = 0.4          # above the band this long: "gentler"
EVEN_RATIO = 0.6      # the smaller side below 60 % of the larger ...
EVEN_MIN = 0.4        # ... while the larger is at least 40 % of the target (a movement under way) ...
EVEN_S = 0.6          # ... for this long: "match the sides"
PROMPT_S = 2.5        # a prompt stays up at least this long
ONSET_FRACTION = 0.3  # a side's onset: when it first reaches 30 % of its own peak in the rep
MIN_SIDE = 0.05       # a side whose peak stays below this (of the target) has no onset to time
TRACE_S = 30.0        # side levels kept this long (longer than any rep)

MORE = "Try a little more."
GENTLER = "Gentler: about a quarter of your strength."
SMALLER = "A little smaller: stay in your range."


def match_text(side: str) -> str:
    return f"Match the sides: your {side} side is behind."


@dataclass(frozen=True)
class Prompt:
    kind: PromptKind
    text: str
    side: Side = ""           # "even": the side that is behind


class Prompter:
    """When to prompt about amount and evenness. `update` once per frame of the move and hold
    phases; `new_phase` when a move phase begins."""

    def __init__(self, gentle: bool = True, band: tuple[float, float] = TARGET_BAND):
        self.gentle, self.band = gentle, band
        self.prompt: Prompt | None = None
        self._since: float = 0.0          # when the prompt went up
        self._above: float | None = None  # since when the level has been above the band
        self._uneven: float | None = None
        self._said: set[str] = set()      # kinds already cued in this rep cycle

    def new_phase(self) -> None:
        self._said.clear()
        self._above = self._uneven = None

    def show(self, t: float, kind: PromptKind, text: str) -> None:
        """Put up a prompt the session decides on (a reminder), for PROMPT_S like any other."""
        self.prompt, self._since = Prompt(kind, text), t

    def update(self, t: float, state: str, moving_for: float, level: float, side_levels: Levels,
               in_rep: bool) -> bool:
        """The prompt for this frame (in `self.prompt`); True when a new one should sound its cue."""
        wanted = self._wanted(t, state, moving_for, level, side_levels, in_rep)
        if wanted is None:
            if self.prompt is not None and t - self._since >= PROMPT_S:
                self.prompt = None
            return False
        fresh = self.prompt is None or self.prompt.kind != wanted.kind or self.prompt.side != wanted.side
        if fresh:
            self._since = t
        self.prompt = wanted
        if fresh and wanted.kind not in self._said:
            self._said.add(wanted.kind)
            return True
        return False

    def _wanted(self, t: float, state: str, moving_for: float, level: float, side_levels: Levels,
                in_rep: bool) -> Prompt | None:
        if state not in ("move", "hold"):
            self._above = self._uneven = None
            return None
        self._above = (self._above if self._above is not None else t) if level > self.band[1] else None
        if self._above is not None and t - self._above >= MUCH_S:
            return Prompt("less", GENTLER if self.gentle else SMALLER)
        behind = lagging_side(side_levels)
        self._uneven = (self._uneven if self._uneven is not None else t) if behind else None
        if behind and self._uneven is not None and t - self._uneven >= EVEN_S:
            return Prompt("even", match_text(behind), behind)
        if state == "move" and moving_for >= LITTLE_S and not in_rep:
            return Prompt("more", MORE)
        return None


def lagging_side(side_levels: Levels) -> Side:
    """The side that is behind, when the sides diverge during a movement ("" when they match)."""
    levels = np.nan_to_num(np.asarray(side_levels, float), nan=0.0)
    hi = float(levels.max())
    if hi < EVEN_MIN:
        return ""
    lo_i = int(levels.argmin())
    return SIDES[lo_i] if levels[lo_i] < EVEN_RATIO * hi else ""


class SideTrace:
    """The detector's per-frame side levels (fractions of the target), kept for TRACE_S."""

    def __init__(self) -> None:
        self._frames: deque[tuple[float, float, float]] = deque()

    def add(self, t: float, side_levels: Levels) -> None:
        left, right = (float(v) for v in side_levels)
        self._frames.append((t, left, right))
        while self._frames and t - self._frames[0][0] > TRACE_S:
            self._frames.popleft()

    def clear(self) -> None:
        self._frames.clear()

    def window(self, start: float, end: float) -> np.ndarray:
        """(n, 3) rows of t, left, right with start <= t <= end."""
        rows = [f for f in self._frames if start <= f[0] <= end]
        return np.array(rows, float).reshape(-1, 3)


def rep_evenness(trace: SideTrace, start_s: float, peak_s: float, end_s: float,
                 affected: str | None = None) -> dict[str, Any]:
    """A finished rep's evenness and timing: onset_lag_ms, late_side, amplitude_ratio, smoothness
    (each None, or "" for the side, when the rep's frames cannot tell)."""
    rows = trace.window(start_s, end_s)
    out: dict[str, Any] = {"onset_lag_ms": None, "late_side": "", "amplitude_ratio": None, "smoothness": None}
    if len(rows) < 3:
        return out
    t, levels = rows[:, 0], np.clip(np.nan_to_num(rows[:, 1:]), 0.0, None)
    peaks = levels.max(axis=0)
    if peaks.max() > 0:
        if affected in SIDES:
            a = SIDES.index(affected)
            out["amplitude_ratio"] = round(float(peaks[a] / peaks[1 - a]), 3) if peaks[1 - a] > 0 else None
        else:
            out["amplitude_ratio"] = round(float(peaks.min() / peaks.max()), 3)
    if peaks.min() >= MIN_SIDE:
        onsets = [float(t[np.argmax(levels[:, i] >= ONSET_FRACTION * peaks[i])]) for i in (0, 1)]
        lag = onsets[0] - onsets[1]
        out["onset_lag_ms"] = round(abs(lag) * 1000.0, 1)
        out["late_side"] = "" if lag == 0 else SIDES[0] if lag > 0 else SIDES[1]
    rise = levels.max(axis=1)[t <= peak_s]
    if len(rise) >= 3:
        travel = float(np.abs(np.diff(rise)).sum())
        out["smoothness"] = round(float((rise.max() - rise[0]) / travel), 3) if travel > 0 else 1.0
    return out
