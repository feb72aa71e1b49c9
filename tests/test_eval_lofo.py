"""Leave-one-face-out on a subset of the eval set, rendered and tracked afresh.

The full eval set (scripts/make_clips.py --set eval: 279 clips of 12 persons) takes too
long for CI. This test regenerates every clip of a few persons spanning the face sizes
(a small face of 30 px between the eyes, medium and large ones, and the head turned away),
tracks them to landmark streams in parallel on all cores (scripts/make_clips.py's own
functions), and holds the leave-one-face-out scores to the issue's bars.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
from pathlib import Path

import pytest

from coach.eval.faces import FACES
from coach.eval.evalset import eval_clips

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
GENERATED = Path(__file__).parent / "data" / "generated"
# kit: small (30 px IOD); man: medium (67 px, with a pose clip); woman: medium (82 px, an
# open-mouth smile); rose: large (two photos, 115-125 px, with a pose clip).
PERSONS = ("kit", "man", "woman", "rose")


def _make_clips():
    sys.path.insert(0, str(SCRIPTS))       # spawned trackers import make_clips by name too
    import make_clips

    return make_clips


@pytest.mark.slow
def test_lofo_on_a_subset_of_the_eval_set(media, face_model, tmp_path):
    from coach.eval.faces import load_faces
    from coach.eval.run import run_eval

    make_clips = _make_clips()
    clips = [c for c in eval_clips() if FACES[c.face]["person"] in PERSONS]
    assert {FACES[c.face]["person"] for c in clips} == set(PERSONS)
    assert any(c.variant == "pose_away" for c in clips)
    faces = sorted({c.face for c in clips}, key=list(FACES).index)
    make_clips._faces.update(load_faces(media, faces, tmp_path / "faces.json", face_model,
                                        seed=GENERATED / "faces.json", depth=True))
    jobs = os.cpu_count() or 1
    try:
        with mp.get_context("fork").Pool(jobs) as pool:     # the workers inherit the faces
            pool.map(make_clips._render, [(c, tmp_path) for c in clips])
    finally:
        make_clips._faces.clear()
    with mp.get_context("spawn").Pool(jobs) as pool:        # MediaPipe does not survive a fork
        found = pool.map(make_clips._track, [(c.name, str(tmp_path), face_model) for c in clips])
    assert min(f for _, f, _ in found) > 0.9

    report = run_eval(tmp_path, use_landmarks=True, lofo=True, jobs=jobs)
    from coach.eval.score import totals

    summary = report.text()
    first = [s for s in report.scores if s.region in ("eye", "mouth")]
    t = totals(first)
    persons = {s.person for s in first}
    assert len(persons) >= 4, summary
    assert t["must_flag"] >= 25, summary
    assert t["recall"] >= 0.95, summary
    assert t["precision"] >= 0.95, summary
    assert t["side_accuracy"] == 1.0, summary
    assert t["silent_clips"] > 0 and t["events_on_silent_clips"] == 0, summary
    assert t["pose_events"] == 0, summary
    assert t["onset_error_median_s"] <= 0.3, summary
    # Head motion during the hold is flagged as when still, and its clean twins stay silent (the
    # totals' zero events on silent clips); faces cut off by the frame are judged.
    def by(pred):
        return totals([s for s in first if pred(s.condition)])

    hold, still = by(lambda c: c.startswith("hold_")), by(lambda c: c == "still")
    crop = by(lambda c: c.startswith("crop_"))
    assert hold["must_flag"] >= 4 and hold["recall"] >= still["recall"], summary
    assert hold["silent_clips"] >= 4 and hold["false_alarms"] == 0, summary
    assert crop["must_flag"] >= 3 and crop["recall"] >= 0.95 and crop["false_alarms"] == 0, summary
    # The chin and the neck (issue 21): found on their side, no false alarm, silent twins silent.
    for region, bar, least in (("chin", 0.95, 8), ("neck", 0.9, 2)):
        r = totals([s for s in report.scores if s.region == region])
        assert r["must_flag"] >= least and r["recall"] >= bar, (region, summary)
        assert r["false_alarms"] == 0 and r["events_on_silent_clips"] == 0, (region, summary)
        assert r["side_accuracy"] == 1.0, (region, summary)
    # A neck nobody can see (covered, dark, out of the picture) reads "can't tell" in every frame.
    import json

    import numpy as np

    from coach.core.calibration import REL_INDEX, fit_baseline, relative
    from coach.core.frames import load_stream
    from coach.core.measures import measure

    hidden = [c for c in clips if FACES[c.face].get("neck") and not c.neck_visible]   # covered, dark, cut off
    assert hidden, "the subset has clips whose neck nobody can see"
    for c in hidden:
        truth = json.loads((tmp_path / f"{c.name}.truth.json").read_text())
        assert truth["neck_visible"] is False
        _, frames = load_stream(tmp_path / f"{c.name}.landmarks.npz")
        ms = [measure(f) for f in frames if f.has_face]
        base = fit_baseline([m for m in ms if m.t <= truth["baseline_s"][1]])
        neck = np.array([relative(m, base)[REL_INDEX["neck_bands"]] for m in ms])
        assert np.isnan(neck).all(), c.name
