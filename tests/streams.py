"""Landmark streams for tests, built from the project's own tracker output of a real
smile (tests/data/single_face.landmarks.npz): a neutral frame and a smiling frame
are blended over time, and one eye's upper lid can be lowered in step with the
smile (synkinesis) — known truth, no model, milliseconds."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from coach.core import face
from coach.core.frames import LandmarkFrame, load_stream

STREAM = Path(__file__).parent / "data" / "single_face.landmarks.npz"
FPS = 30.0


def _keyframes():
    info, frames = load_stream(STREAM)
    neutral = np.mean([f.points for f in frames if f.t < 0.5], axis=0)
    smile = np.mean([f.points for f in frames if 1.2 < f.t < 2.0 and f.t not in (0.9,)], axis=0)
    return info, neutral, smile


def envelope(t: float, start: float, rise: float = 0.6, hold: float = 3.0, fall: float = 0.6) -> float:
    if t < start or t > start + rise + hold + fall:
        return 0.0
    if t < start + rise:
        return (t - start) / rise
    if t < start + rise + hold:
        return 1.0
    return 1.0 - (t - start - rise - hold) / fall


def session_stream(seconds: float, rep_starts=(), synk_side: str | None = None, synk_reps=(), closure=0.45,
                   gap=None, blink_at=(), scale: float = 1.0, rep_closure: dict | None = None):
    """LandmarkFrames: smiles starting at `rep_starts`; on reps listed in `synk_reps` the
    `synk_side` eye closes a further `closure` of its opening; no face during `gap` (t0, t1).
    `scale` < 1 makes gentler smiles (the real one moves the corners ~40 % of mouth width);
    `rep_closure` {rep index: closure} gives some of `synk_reps` a closure of their own."""
    info, neutral, smile = _keyframes()
    rng = np.random.default_rng(1)
    frames = []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        if gap and gap[0] <= t < gap[1]:
            frames.append(LandmarkFrame(t, info.width, info.height, None, {}, None, i))
            continue
        k = max((envelope(t, s) for s in rep_starts), default=0.0)
        pts = neutral + scale * k * (smile - neutral)
        # The real smile already narrows both eyes (~24 %, as normal eyes do); synkinesis
        # closes one eye further, in step with the smile.
        closures = {"left": 0.0, "right": 0.0}
        for r in synk_reps:
            if synk_side:
                amount = (rep_closure or {}).get(r, closure)
                closures[synk_side] = max(closures[synk_side], amount * envelope(t, rep_starts[r]))
        if any(b <= t < b + 0.2 for b in blink_at):
            closures = {"left": 0.9, "right": 0.9}
        for side, c in closures.items():
            for up, lo in face.EYE_LIDS[side]:
                pts[up, 1] += c * (pts[lo, 1] - pts[up, 1])
        pts = pts + rng.normal(0, 0.0004, pts.shape)
        frames.append(LandmarkFrame(t, info.width, info.height, pts.astype(np.float32), {}, None, i))
    return frames


class ListSource:
    """A replayed landmark source (what ReplaySource yields), from a list of items."""

    name, fps = "test", 30.0

    def __init__(self, items):
        self.items = list(items)
        self.i = 0

    def read(self):
        if self.i >= len(self.items):
            return None
        self.i += 1
        return self.items[self.i - 1]

    def close(self):
        pass


def screens(display) -> list[str]:
    """The screens a display showed, in order, without repeats."""
    out = []
    for v in display.views:
        if not out or out[-1] != v.screen:
            out.append(v.screen)
    return out
