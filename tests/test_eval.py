"""The detector against injected ground truth (generated clips, real faces), through the
real tracker: what `coach eval` prints in the README."""
from pathlib import Path

import pytest

from coach.eval.run import run_eval
from coach.eval.score import ONSET_LIMIT_S

GENERATED = Path(__file__).parent / "data" / "generated"


@pytest.mark.slow   # runs the tracker
def test_generated_clips_meet_the_bar(face_model, media):
    summary = run_eval(GENERATED, model=face_model)
    totals = summary.totals()
    faces = {c.person for c in summary.scores}
    assert totals["clips"] >= 16 and len(faces) >= 2
    assert totals["must_flag"] >= 8
    # Every must-flag event is found, on the correct side, with onset error ≤ 0.3 s …
    assert totals["recall"] == 1.0 and totals["side_accuracy"] == 1.0
    assert totals["onset_error_max_s"] <= ONSET_LIMIT_S
    # … and clean, blink-only, normal-smile and mouth-still clips raise nothing.
    assert totals["silent_clips"] >= 8 and totals["events_on_silent_clips"] == 0
    assert totals["false_alarms"] == 0 and totals["precision"] == 1.0
    kinds = {c.exercise for c in summary.scores if c.must}
    assert {"gentle-smile", "gentle-eye-closure"} <= kinds


@pytest.mark.slow   # runs the tracker
def test_small_low_resolution_faces(face_model, media, tmp_path):
    """The same behaviour at 240×180 (a face ~40 px between the eyes): still found, still quiet."""
    import shutil

    import cv2

    names = ["man_smile_synk_left_70", "man_smile_synk_right_90", "boy_smile_synk_left_90", "man_smile_blinks",
             "man_smile_symmetric", "woman_smile_blinks_turn", "man_closure_clean", "woman_closure_oral_right"]
    for name in names:
        cap = cv2.VideoCapture(str(GENERATED / f"{name}.mp4"))
        out = cv2.VideoWriter(str(tmp_path / f"{name}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (240, 180))
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            out.write(cv2.resize(frame, (240, 180), interpolation=cv2.INTER_AREA))
        out.release()
        cap.release()
        shutil.copy(GENERATED / f"{name}.truth.json", tmp_path)
    totals = run_eval(tmp_path, model=face_model).totals()
    assert totals["must_flag"] >= 3 and totals["recall"] == 1.0 and totals["side_accuracy"] == 1.0
    assert totals["events_on_silent_clips"] == 0 and totals["precision"] == 1.0
