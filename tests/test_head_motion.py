"""Head motion during the hold: turns, nods and approaches of 15° (1.25×) at three speeds.

Landmark streams of a real smile (tests/streams.py), the whole mesh moved rigidly in 3-D while
the smile is held. Judging pauses while the head is too far from its neutral pose or moves too
fast, and resumes: one eye narrowing is still flagged, on its side, as in the still clip, and the
clean twin (the same motion, nothing injected) stays silent. What the tracker reads on a turned
face is measured on the generated clips (`coach eval`, README).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from coach.core import face
from coach.core.frames import LandmarkFrame
from coach.core.pipeline import analyze
from streams import FPS, session_stream

SPEEDS = {"slow": 1.5, "mid": 0.75, "fast": 0.4}   # seconds to reach 15° (and again to come back)
MOVE_AT = 2.4                                      # the smile is held from 2.1 s to 5.1 s


def _ease(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


def gain(t: float, dur: float) -> float:
    """0 → 1 over `dur` from MOVE_AT, held 0.5 s, back to 0 over `dur`."""
    return min(_ease((t - MOVE_AT) / dur), _ease((MOVE_AT + 2 * dur + 0.5 - t) / dur))


def moved(frames, motion: str, dur: float):
    """The frames with the head turned (yaw), nodded (pitch) by up to 15°, or brought 1.25× closer."""
    out = []
    for f in frames:
        g = gain(f.t, dur)
        scale = np.array([f.width, f.height, f.width], dtype=np.float64)
        p = f.points.astype(np.float64) * scale
        c = p[list(face.RIGID_MIDLINE)].mean(0)
        a = math.radians(15.0 * g)
        if motion == "yaw":
            r = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
        elif motion == "pitch":
            r = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
        else:
            r = np.eye(3) * (1 + 0.25 * g)
        q = (p - c) @ r.T + c
        out.append(LandmarkFrame(f.t, f.width, f.height, (q / scale).astype(np.float32), {}, None, f.index))
    return out


@pytest.fixture(scope="module")
def clips():
    synk = session_stream(7.0, rep_starts=(1.5,), synk_side="right", synk_reps=(0,))
    clean = session_stream(7.0, rep_starts=(1.5,))
    return synk, clean


def _events(library, frames):
    return analyze(frames, library["gentle-smile"], baseline_s=1.0).synkinesis


@pytest.mark.parametrize("speed", SPEEDS)
@pytest.mark.parametrize("motion", ["yaw", "pitch", "approach"])
def test_flagged_as_when_still_and_the_clean_twin_stays_silent(library, clips, motion, speed):
    synk, clean = clips
    still = _events(library, synk)
    assert [(e.side, e.measure) for e in still] == [("right", "eye_opening")]
    events = _events(library, moved(synk, motion, SPEEDS[speed]))
    # Found from the start, before the move, on its side only; a pause in judging may split it in two.
    assert events and {(e.side, e.measure) for e in events} == {("right", "eye_opening")}, events
    assert abs(events[0].start_s - still[0].start_s) <= 0.3
    assert all(still[0].start_s - 0.3 <= e.start_s and e.end_s <= still[0].end_s + 0.3 for e in events)
    assert _events(library, moved(clean, motion, SPEEDS[speed])) == []


def test_the_motion_is_real(clips):
    """The turns and nods reach 15° (the gate pauses judging beyond 10° of yaw), fast ones faster than 40°/s."""
    from coach.core.measures import measure

    synk, _ = clips
    for motion, key in (("yaw", "yaw_deg"), ("pitch", "pitch_deg")):
        still = np.array([getattr(measure(f), key) for f in synk])
        angle = np.array([getattr(measure(f), key) for f in moved(synk, motion, SPEEDS["fast"])]) - still
        assert np.abs(angle).max() == pytest.approx(15.0, abs=1.0)
        assert np.abs(np.diff(angle)).max() * FPS > 40.0
