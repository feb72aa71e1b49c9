"""Detector: per-frame input → expected events (parametrised, as in supervision's tests).

Inputs are relative measures built frame by frame, so every case states exactly
what the face did; no model, no video, milliseconds per case.
"""
from __future__ import annotations

import numpy as np
import pytest

from coach.core.calibration import REL, REL_INDEX
from coach.core.detector import MIN_REP_S, Detector
from coach.core.events import RepEnded, RepStarted, SynkinesisEnded, SynkinesisStarted

FPS = 30.0


def ramp(t, start, end, rise=0.4):
    """0 → 1 over `rise` s from `start`, held, back to 0 over `rise` s before `end`."""
    up = np.clip((t - start) / rise, 0, 1)
    down = np.clip((end - t) / rise, 0, 1)
    return np.minimum(up, down)


def run(exercise, seconds, fill, affected=None, noise=0.0, seed=0):
    """fill(t, rel) sets rel (len(REL), 2) for each time t; returns detector and happenings."""
    rng = np.random.default_rng(seed)
    det = Detector(exercise, affected)
    happenings = []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        rel = np.zeros((len(REL), 2))
        fill(t, rel)
        if noise:
            rel += rng.normal(0, noise, rel.shape)
        happenings += det.update(rel, t)
    happenings += det.finish()
    return det, happenings


def smile(level=0.3, start=1.0, end=4.0):
    def f(t, rel):
        rel[REL_INDEX["commissure_excursion"]] = level * ramp(t, start, end)
    return f


def with_eyes(base, left=0.0, right=0.0, start=1.0, end=4.0, blinks=()):
    """Eye narrowing (positive = narrower) in step with the prime movement, plus blinks."""
    def f(t, rel):
        base(t, rel)
        k = ramp(t, start, end)
        rel[REL_INDEX["eye_opening"]] = [-left * k, -right * k]
        for b in blinks:
            if b <= t < b + 0.2:
                rel[REL_INDEX["eye_opening"]] = [-0.8, -0.8]
    return f


CASES = [
    # (name, fill, affected side, expected [(side, approx start)])
    ("clean smile", smile(), None, []),
    ("normal smile, both eyes narrow alike", with_eyes(smile(), 0.22, 0.20), None, []),
    ("normal smile, eyes within ratio 1.6, 10 points apart", with_eyes(smile(), 0.26, 0.165), None, []),
    ("left eye narrows twice as much, 15 points more", with_eyes(smile(), 0.30, 0.15), None, [("left", 1.0)]),
    ("right eye synkinesis, other eye still", with_eyes(smile(), 0.0, 0.25), None, [("right", 1.0)]),
    ("right eye synkinesis, blink in the hold", with_eyes(smile(), 0.0, 0.30, blinks=(2.5,)), None, [("right", 1.0)]),
    ("blinks only during a smile", with_eyes(smile(), blinks=(1.8, 2.6, 3.3)), None, []),
    ("affected side given: the other side is not watched", with_eyes(smile(), 0.0, 0.30), "left", []),
    ("affected side given: flagged on it", with_eyes(smile(), 0.0, 0.30), "right", [("right", 1.0)]),
]


@pytest.mark.parametrize("name,fill,affected,expected", CASES, ids=[c[0] for c in CASES])
def test_synkinesis_cases(library, name, fill, affected, expected):
    det, happenings = run(library["gentle-smile"], 5.0, fill, affected, noise=0.005)
    got = [(e.side, e.start_s) for e in det.events]
    assert [s for s, _ in got] == [s for s, _ in expected], got
    for (_, start), (_, want) in zip(got, expected):
        assert abs(start - want) <= 0.3
    assert len(det.reps) == 1 and det.reps[0].synkinesis == bool(expected)
    starts = [h for h in happenings if isinstance(h, SynkinesisStarted)]
    ends = [h for h in happenings if isinstance(h, SynkinesisEnded)]
    assert len(starts) == len(ends) == len(expected)


def test_narrowing_outside_the_movement_is_not_synkinesis(library):
    """Timed with the prime movement: a one-sided squint at rest is not an event."""
    def fill(t, rel):
        rel[REL_INDEX["eye_opening"], 0] = -0.4 * ramp(t, 1.0, 3.0)
    det, _ = run(library["gentle-smile"], 4.0, fill)
    assert det.events == [] and det.reps == []


def test_short_one_sided_twitch_is_ignored(library):
    def fill(t, rel):
        smile()(t, rel)
        if 2.0 <= t < 2.2:
            rel[REL_INDEX["eye_opening"], 1] = -0.5
    det, _ = run(library["gentle-smile"], 5.0, fill)
    assert det.events == []


@pytest.mark.parametrize("reps", [1, 3])
def test_rep_segmentation(library, reps):
    def fill(t, rel):
        rel[REL_INDEX["commissure_excursion"]] = 0.25 * sum(ramp(t, 1 + 3 * k, 3 + 3 * k) for k in range(reps))
    det, happenings = run(library["gentle-smile"], 1 + 3 * reps + 1, fill, noise=0.005)
    assert len(det.reps) == reps
    assert sum(isinstance(h, RepStarted) for h in happenings) == reps
    assert sum(isinstance(h, RepEnded) for h in happenings) == reps
    for k, rep in enumerate(det.reps):
        assert abs(rep.start_s - (1 + 3 * k)) < 0.2
        assert abs(rep.end_s - (3 + 3 * k)) < 0.4
        assert rep.peak == pytest.approx(0.25 / 0.20, rel=0.1)
        assert rep.hold_s >= 1.0 and rep.complete
        assert 0.9 <= rep.hold_steadiness <= 1.0


def test_blink_is_not_a_rep_of_eye_closure(library):
    def fill(t, rel):
        if 1.0 <= t < 1.0 + MIN_REP_S * 0.6:
            rel[REL_INDEX["eye_opening"]] = [-0.8, -0.8]
    det, _ = run(library["gentle-eye-closure"], 3.0, fill)
    assert det.reps == []


def test_ocular_oral_mouth_pull_during_eye_closure(library):
    def fill(t, rel):
        rel[REL_INDEX["eye_opening"]] = -0.7 * ramp(t, 1.0, 4.0)
        rel[REL_INDEX["commissure_excursion"], 0] = 0.12 * ramp(t, 1.1, 4.0)
    det, _ = run(library["gentle-eye-closure"], 5.0, fill, noise=0.005)
    assert [(e.side, e.measure) for e in det.events] == [("left", "commissure_excursion")]
    assert det.events[0].peak_change == pytest.approx(0.12, abs=0.03)


def test_face_lost_closes_everything_and_nothing_spans_the_gap(library):
    det = Detector(library["gentle-smile"])
    fill = with_eyes(smile(start=0.5, end=6.0), 0.0, 0.3, start=0.5, end=6.0)
    for i in range(int(6 * FPS)):
        t = i / FPS
        if 2.0 <= t < 3.0:
            det.update(None, t)
            continue
        rel = np.zeros((len(REL), 2))
        fill(t, rel)
        det.update(rel, t)
    det.finish()
    assert det.reps and not det.reps[0].complete
    for ev in det.events:
        assert ev.end_s < 2.0 or ev.start_s >= 3.0
    for rep in det.reps:
        assert rep.end_s < 2.0 or rep.start_s >= 3.0


def test_per_patient_threshold_override(library):
    ex = library["gentle-smile"].with_overrides(thresholds={"eye_opening": 0.35})
    det, _ = run(ex, 5.0, with_eyes(smile(), 0.0, 0.25))
    assert det.events == []


def test_weak_prime_movement_still_times_synkinesis(library):
    """A patient whose smile never reaches the rep threshold (30 % of target) still gets
    warned when one eye closes with it: the co-movement is timed with the movement."""
    ex = library["gentle-smile"]
    det, _ = run(ex, 5.0, with_eyes(smile(level=0.3 * ex.prime.target), 0.0, 0.3), noise=0.003)
    assert det.reps == []
    assert [e.side for e in det.events] == ["right"]


def test_a_partly_seen_blink_does_not_split_an_event(library):
    """The tracker may read a blink as only ~40 % closure on both eyes: still one event."""
    def fill(t, rel):
        with_eyes(smile(), 0.0, 0.3)(t, rel)
        if 2.5 <= t < 2.8:
            rel[REL_INDEX["eye_opening"]] = [-0.4, -0.42]
    det, _ = run(library["gentle-smile"], 5.0, fill, noise=0.003)
    assert [e.side for e in det.events] == ["right"]
    assert det.events[0].start_s < 2.0 and det.events[0].end_s > 3.0


def test_an_eye_slow_to_reopen_after_a_blink_is_not_synkinesis(library):
    """Trackers (and lids) lag after a blink, often unevenly: a short one-sided lag right
    after both eyes closed must not start an event."""
    def fill(t, rel):
        smile()(t, rel)
        if 2.0 <= t < 2.2:
            rel[REL_INDEX["eye_opening"]] = [-0.7, -0.7]
        elif 2.2 <= t < 2.55:
            rel[REL_INDEX["eye_opening"]] = [0.0, -0.15]
    det, _ = run(library["gentle-smile"], 5.0, fill, noise=0.003)
    assert det.events == []
