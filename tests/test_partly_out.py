"""A face partly out of the picture: judged wherever the landmarks the measures read are in.

Landmark streams of a real smile (tests/streams.py) moved so that the frame's top edge cuts
off the forehead, or its bottom edge the chin, as when a patient sits close to a laptop or
holds a tablet. MediaPipe still places the landmarks beyond the edge; they are then guesses.
"""
from __future__ import annotations

import numpy as np
import pytest

from coach.core import face
from coach.core.calibration import REL_INDEX, relative
from coach.core.frames import LandmarkFrame
from coach.core.measures import measure
from coach.core.pipeline import analyze
from coach.core.quality import EDGE_MARGIN_IOD, QualityGate, needs
from coach.screen.display import NullDisplay
from streams import FPS, ListSource, session_stream

BROWS = [p for s in face.SIDES for p in face.BROW[s]]
UPPER_LIDS = [up for s in face.SIDES for up, _ in face.EYE_LIDS[s]]
LOWER_LIDS = [lo for s in face.SIDES for _, lo in face.EYE_LIDS[s]]
CORNERS = list(face.MOUTH_CORNER.values())


def shifted(frames, dy: float):
    """The same frames with the face moved down by `dy` (a fraction of the picture's height)."""
    out = []
    for f in frames:
        if f.points is None:
            out.append(f)
            continue
        p = f.points.copy()
        p[:, 1] += dy
        out.append(LandmarkFrame(f.t, f.width, f.height, p, {}, None, f.index))
    return out


def neutral_y(frames, idx) -> np.ndarray:
    return frames[0].points[idx, 1]


def cut(frames, part: str, deep: bool = False):
    """Frames whose picture cuts off the forehead (brows in) or the chin (mouth corners in);
    `deep`: the cut goes on through the eyes' lower lids, or up to the nose tip."""
    p = frames[0].points
    if part == "forehead":
        y = neutral_y(frames, LOWER_LIDS).max() if deep else (neutral_y(frames, BROWS).min() + p[:468, 1].min()) / 2
        return shifted(frames, -y)
    y = p[face.NOSE_TIP, 1] if deep else (p[face.LOWER_LIP_MID, 1] + p[:468, 1].max()) / 2
    return shifted(frames, 1.0 - y)


@pytest.fixture(scope="module")
def smile_synk():
    """Two smiles; in the second the right eye narrows with it (synkinesis)."""
    return session_stream(12.0, rep_starts=(1.5, 6.5), synk_side="right", synk_reps=(1,))


@pytest.mark.parametrize("part", ["forehead", "chin"])
def test_eye_narrowing_in_a_smile_is_flagged_with_the_face_partly_out(library, smile_synk, part):
    frames = cut(smile_synk, part)
    pts = np.stack([f.points for f in frames])
    # Part of the face really is out of the picture: the old gate (every landmark inside)
    # would have judged none of these frames.
    assert (pts[:, :468, 1].min(axis=1) < 0).all() if part == "forehead" else (pts[:, :468, 1].max(axis=1) > 1).all()
    result = analyze(frames, library["gentle-smile"], baseline_s=1.0)
    data = result.to_json("cut", FPS)
    assert data["frames_unjudged"] == {} and data["frames_judged"] == len(frames)
    assert data["frames_partly_out"] == {part: len(frames)}
    assert [(e["side"], e["measure"]) for e in data["synkinesis"]] == [("right", "eye_opening")]
    assert data["synkinesis"][0]["start_s"] >= 6.0
    assert len(data["reps"]) == 2


@pytest.mark.parametrize("part, prompt", [
    ("forehead", "Move back a little: your forehead is out of the picture."),
    ("chin", "Move back a little: your chin is out of the picture.")])
def test_a_deeper_cut_is_not_judged_and_says_which_part_is_out(library, smile_synk, part, prompt):
    """Cut through the lids (or the mouth corners): a smile cannot be judged; the JSON and the
    hint name the part of the face that is out of the picture."""
    frames = cut(smile_synk, part, deep=True)
    result = analyze(frames, library["gentle-smile"], baseline_s=1.0)
    data = result.to_json("cut", FPS)
    assert data["synkinesis"] == [] and data["frames_judged"] == 0
    spans = data["unjudged_spans"]
    assert spans and {s["reason"] for s in spans} == {"out_of_frame"} and {s["part"] for s in spans} == {part}
    ex = library["gentle-smile"]
    gate = QualityGate(result.baseline.pose, needs(ex))
    assert gate.check(measure(frames[100])) == "out_of_frame"
    assert gate.part == part and gate.prompt == prompt


def test_only_the_measures_landmarks_count(library, smile_synk):
    """A cut through the brows stops a brow lift from being judged, not a smile."""
    f = smile_synk[0]
    brow_top = f.points[BROWS, 1].min()
    lids = f.points[UPPER_LIDS, 1].min()
    frames = shifted(smile_synk[:1], -(brow_top + lids) / 2)
    m = measure(frames[0])
    assert m.inside["brow_height"][0] < EDGE_MARGIN_IOD <= m.inside["eye_opening"][0]
    pose = (m.yaw_deg, m.pitch_deg, m.roll_deg)
    assert QualityGate(pose, needs(library["gentle-smile"])).check(m) is None
    brow = QualityGate(pose, needs(library["brow-lift"]))
    assert brow.check(m) == "out_of_frame" and brow.part == "forehead"


@pytest.mark.parametrize("image_edge, side", [("right", "left"), ("left", "right")])
def test_a_side_out_of_the_picture_is_the_patients_own_side(smile_synk, image_edge, side):
    """The patient's left is on the image's right (an unmirrored picture): a face cut off at the
    image's right edge has its left side out, and the hint says so in the patient's terms."""
    f = smile_synk[0]
    eye = f.points[face.EYE_OUTER[side], 0]
    p = f.points.copy()
    p[:, 0] += (1.0 - eye + 0.01) if image_edge == "right" else -(eye + 0.01)
    m = measure(LandmarkFrame(f.t, f.width, f.height, p))
    gate = QualityGate((m.yaw_deg, m.pitch_deg, m.roll_deg))
    assert gate.check(m) == "out_of_frame" and gate.part == side
    assert f"the {side} side of your face is out of the picture" in gate.prompt


def test_the_live_hint_names_the_part_out_of_the_picture(library):
    """In the live coach: after calibrating, the patient sits closer and the frame cuts off the
    forehead (the second smile is still flagged); during the third smile the face drops and the
    mouth corners leave the picture: the hint says the chin is out."""
    from coach.app import HomeDriver, LoopStats, run_loop
    from coach.core.session import Session

    frames = session_stream(36, rep_starts=(10, 17, 24), synk_side="left", synk_reps=(1,))
    forehead, chin = cut(frames, "forehead"), cut(frames, "chin", deep=True)
    frames = [c if 24.5 <= f.t < 27.0 else h if f.t >= 8.0 else f for f, h, c in zip(frames, forehead, chin)]
    display = NullDisplay()
    session = Session([library["gentle-smile"].with_overrides(reps=3)], welcome_s=1.0, ready_s=1.0)
    run_loop(ListSource(frames), HomeDriver(session), display, stats=LoopStats())
    reps = session.tallies[0].reps
    assert [r.synkinesis for r in reps[:2]] == [False, True]
    texts = {v.text for v in display.views if 25.0 <= v.t < 26.8 and v.screen in ("move", "hold", "relax")}
    assert "Move back a little: your chin is out of the picture." in texts
    assert not any("out of the picture" in (v.text or "") for v in display.views if v.t < 24.0)


@pytest.mark.slow
@pytest.mark.parametrize("clip", ["single_face.mp4", "face_noface.mov", "noface_face.mov"])
def test_real_clips_still_give_no_event(media, face_model, library, clip):
    """The real clips (a man smiling; a face leaving or entering the picture) through the real
    tracker: no event in any exercise whose watched co-movement they do not show."""
    from coach.analysis import load_frames

    _, frames = load_frames(media / clip, face_model)
    for ex in ("gentle-smile", "open-mouth-smile", "snarl", "lip-pucker", "brow-lift"):
        result = analyze(frames, library[ex])
        assert result.synkinesis == [], (clip, ex, result.synkinesis)
        assert len(result.reps) == (1 if ex in ("gentle-smile", "open-mouth-smile", "snarl") else 0), (clip, ex)
    # Analysed as an eye closure, the smile is a corner pull (what the coach should say), but never a chin or neck.
    closure = analyze(frames, library["gentle-eye-closure"])
    assert {e.measure for e in closure.synkinesis} == {"commissure_excursion"}, (clip, closure.synkinesis)
    # The chin and the neck were read (not "can't tell") in most frames: the silence above is a reading.
    base = closure.baseline
    assert base is not None and base.neck is not None and base.chin_profile is not None
    rel = np.array([r for f in frames if f.has_face and (r := relative(measure(f), base)) is not None])
    for name in ("chin_raise", "neck_bands"):
        assert np.isfinite(rel[:, REL_INDEX[name]]).mean() > 0.8, (clip, name)
