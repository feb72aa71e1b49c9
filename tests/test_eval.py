"""The detector against injected ground truth (generated clips, real faces), through the
real tracker: what `coach eval` prints in the README."""
from pathlib import Path

from coach.evaluate import ONSET_LIMIT_S, run_eval

GENERATED = Path(__file__).parent / "data" / "generated"


def test_generated_clips_meet_the_bar(face_model, media):
    summary = run_eval(GENERATED, model=face_model)
    totals = summary.totals()
    faces = {c.clip.split("_")[0] for c in summary.clips}
    assert totals["clips"] >= 16 and len(faces) >= 2
    assert totals["must_flag"] >= 8
    # Every must-flag event is found, on the correct side, with onset error ≤ 0.3 s …
    assert totals["recall"] == 1.0 and totals["side_accuracy"] == 1.0
    assert totals["onset_error_max_s"] <= ONSET_LIMIT_S
    # … and clean, blink-only, normal-smile and mouth-still clips raise nothing.
    assert totals["clean_clips"] >= 8 and totals["events_on_clean_clips"] == 0
    assert sum(c.false_alarms for c in summary.clips) == 0
    kinds = {c.exercise for c in summary.clips if c.must}
    assert {"gentle-smile", "gentle-eye-closure"} <= kinds
