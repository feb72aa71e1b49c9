"""The ground-truth generator (coach.eval.faces, warp, recipes, render) and the committed clips it made.

The fast tests need neither media nor model: the warp is checked on a synthetic
coordinate image, the displacement fields on the cached neutral landmarks of the
real faces (tests/data/generated/faces.json). The slow test renders a clip from
the real face and runs the tracker on it; it needs COACH_FACE_MODEL and
COACH_TEST_MEDIA.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from coach.core import face
from coach.eval.faces import (BASELINE_S, DEFAULT_FACES, FACES, FACES_ENV, MEDIA_ENV, RAMP_S, SIZE, Face, iod_px,
                              load_faces, source_path)
from coach.eval.evalset import eval_clips
from coach.eval.recipes import HOLD_BLINKS, MOTIONS, PUCKER, SMILE, VARIANTS, Clip, default_clips, truth
from coach.eval.render import Renderer, render
from coach.eval.tracked import measure_clip
from coach.eval.warp import Warper, blink_envelope, corner_pull, eye_closure, rep_envelope

GENERATED = Path(__file__).parent / "data" / "generated"
FACES_JSON = GENERATED / "faces.json"


def _cached_points():
    if not FACES_JSON.is_file():
        pytest.skip("tests/data/generated/faces.json is missing")
    return {k: np.array(v["points"]) for k, v in json.loads(FACES_JSON.read_text()).items()}


def _sample(img: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Bilinear sample of a float image at sub-pixel points."""
    m = pts.astype(np.float32).reshape(-1, 1, 2)
    return cv2.remap(img, m[..., 0], m[..., 1], cv2.INTER_LINEAR).reshape(len(pts), -1)


# ---------------------------------------------------------------- the warp itself

def _coordinate_image(w, h):
    """Each pixel holds its own (x, y): a warped copy tells where every pixel came from."""
    return np.dstack(np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32)))


def _jittered_grid(w, h, rng):
    xs, ys = np.meshgrid(np.linspace(30, w - 30, 7), np.linspace(25, h - 25, 5))
    return np.c_[xs.ravel(), ys.ravel()] + rng.uniform(-4, 4, (35, 2))


def test_warp_lands_points_where_asked():
    w, h = 240, 180
    rng = np.random.default_rng(1)
    src = _jittered_grid(w, h, rng)
    dst = src + rng.uniform(-6, 6, src.shape)
    warper = Warper(src, (w, h))
    assert warper.flipped(dst) == 0
    out = warper.warp(_coordinate_image(w, h), dst)
    # The pixel now at each target position came from the neutral position.
    np.testing.assert_allclose(_sample(out, dst), src, atol=1.0)
    # Far from every moved point the image is untouched.
    assert np.allclose(out[0, 0], (0, 0)) and np.allclose(out[h - 1, w - 1], (w - 1, h - 1))


def test_warp_with_view_composes_in_one_lookup():
    w, h = 240, 180
    rng = np.random.default_rng(2)
    src = _jittered_grid(w, h, rng)
    dst = src + rng.uniform(-5, 5, src.shape)
    warper = Warper(src, (w, h))
    # Output pixel p shows warped-canvas point view @ p: here a shift by (7, 3).
    view = np.array([[1, 0, 7], [0, 1, 3], [0, 0, 1.0]])
    out = warper.warp(_coordinate_image(w, h), dst, view, (w - 20, h - 20))
    inner = (dst[:, 0] > 10) & (dst[:, 0] < w - 30) & (dst[:, 1] > 5) & (dst[:, 1] < h - 25)
    np.testing.assert_allclose(_sample(out, dst[inner] - (7, 3)), src[inner], atol=1.0)


def test_flipped_counts_folds():
    src = np.array([[50.0, 50], [100, 50], [75, 90], [75, 20]])
    warper = Warper(src, (150, 120))
    assert warper.flipped(src) == 0
    folded = src.copy()
    folded[2] = (75, 10)  # pushed through the opposite edge
    assert warper.flipped(folded) > 0


# ---------------------------------------------------------------- displacement fields on real faces

@pytest.mark.parametrize("amount", [0.4, 0.7, 0.97])
def test_eye_closure_moves_the_lids_of_one_eye(amount):
    for name, p in _cached_points().items():
        for side in face.SIDES:
            d = eye_closure(p, side, amount)
            axis = p[face.EYE_OUTER[side]] - p[face.EYE_INNER[side]]
            normal = np.array([-axis[1], axis[0]]) / np.linalg.norm(axis)   # across the fissure
            q = p + d
            gap0 = np.mean([abs((p[lo] - p[up]) @ normal) for up, lo in face.EYE_LIDS[side]])
            gap1 = np.mean([abs((q[lo] - q[up]) @ normal) for up, lo in face.EYE_LIDS[side]])
            # The lid pairs sit near the middle of the fissure; the warp closes `amount` of it.
            assert gap1 / gap0 == pytest.approx(1 - amount, abs=0.06), (name, side)
            other = face.other(side)
            moved = np.abs(d).max(1)
            assert moved[list(face.EYE_CONTOUR[other])].max() < 1e-9
            assert moved[[face.NOSE_TIP, 152, *face.MOUTH_CORNER.values()]].max() < 1e-9


def test_smile_widens_the_mouth_by_the_recipe():
    for name, p in _cached_points().items():
        d = corner_pull(p, "left", *SMILE) + corner_pull(p, "right", *SMILE)
        q = p + d
        l, r = face.MOUTH_CORNER["left"], face.MOUTH_CORNER["right"]
        w0, w1 = np.linalg.norm(p[l] - p[r]), np.linalg.norm(q[l] - q[r])
        assert w1 / w0 - 1 == pytest.approx(2 * SMILE[0], abs=0.01), name
        assert q[l, 1] < p[l, 1] and q[r, 1] < p[r, 1]          # corners go up (image y down)
        assert np.abs(d[[face.NASION, 152]]).max() < 0.02 * w0   # the nose ridge and chin stay


def test_one_corner_pull_leaves_the_other_corner():
    for name, p in _cached_points().items():
        for side in face.SIDES:
            d = corner_pull(p, side, 0.6 * 0.12, 0.8 * 0.12)
            w0 = np.linalg.norm(p[291] - p[61])
            assert np.linalg.norm(d[face.MOUTH_CORNER[side]]) == pytest.approx(0.12 * w0, rel=0.01)
            assert np.abs(d[face.MOUTH_CORNER[face.other(side)]]).max() < 1e-9
            # The pulled corner goes outward: away from the other corner.
            mid = (p[291] + p[61]) / 2
            c = p[face.MOUTH_CORNER[side]]
            assert np.dot(d[face.MOUTH_CORNER[side]], c - mid) > 0


@pytest.mark.slow                      # end to end, over 2 s: the full run, not the fast loop
def test_no_recipe_folds_the_mesh():
    """Every committed clip, at every frame time, on its own face: no folded triangle."""
    pts = _cached_points()
    for clip in default_clips():
        p = pts[clip.face]
        src = Face(clip.face, np.zeros((400, 560, 3), np.uint8), (0, 0), p, "")
        r = Renderer(clip, src)
        for t in np.arange(0, clip.duration, 0.1):
            assert r.warper.flipped(r.points(t)[r.ctrl]) == 0, (clip.name, t)


def test_rendering_is_deterministic():
    p = _cached_points()["man"]
    img = np.random.default_rng(0).integers(0, 255, (360, 480, 3), dtype=np.uint8)
    clip = next(c for c in default_clips() if c.name == "man_smile_synk_left_70_turn")
    a = Renderer(clip, Face("man", img, (0, 0), p, ""))
    b = Renderer(clip, Face("man", img.copy(), (0, 0), p.copy(), ""))
    for i in (0, 75, 130):
        assert np.array_equal(a.frame(i), b.frame(i))


def test_envelopes():
    assert rep_envelope(1.0, 1.6, 4.0) == 0
    assert rep_envelope(2.8, 1.6, 4.0) == 1
    assert rep_envelope(1.8, 1.6, 4.0) == pytest.approx(0.5)
    assert blink_envelope(2.36, 2.3, 2.5) == pytest.approx(1.0)
    assert blink_envelope(2.6, 2.3, 2.5) == 0


# ---------------------------------------------------------------- the committed set

def _truths():
    files = sorted(GENERATED.glob("*.truth.json"))
    if not files:
        pytest.skip("no generated clips")
    return [json.loads(f.read_text()) for f in files]


def test_committed_clips_match_their_truth():
    truths = _truths()
    assert len(truths) >= 20
    assert len({t["face_id"] for t in truths}) >= 2
    total = sum(f.stat().st_size for f in GENERATED.iterdir())
    assert total < 7_000_000          # small enough to commit: the whole set under 7 MB
    for t in truths:
        path = GENERATED / t["clip"]
        assert path.is_file(), t["clip"]
        cap = cv2.VideoCapture(str(path))
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        cap.release()
        assert size == SIZE
        assert n == round(t["injected"]["duration_s"] * t["fps"])
        assert t["exercise"] in ("gentle-smile", "open-mouth-smile", "gentle-eye-closure", "lip-pucker", "brow-lift")
        assert t["baseline_s"] == [0, 1.5]
        assert t["motion"] in ("none", "turn", "tilt", "approach")
        for r in t["reps"]:
            assert t["baseline_s"][1] <= r["start_s"] < r["end_s"] <= t["injected"]["duration_s"]
        for b0, b1 in t["blinks_s"]:
            assert any(r["start_s"] + RAMP_S <= b0 < b1 <= r["end_s"] - RAMP_S for r in t["reps"])
        for s in t["synkinesis"]:
            assert s["side"] in face.SIDES
            assert s["measure"] == ("commissure_excursion" if t["exercise"] in ("gentle-eye-closure", "brow-lift")
                                    else "eye_opening")


def test_committed_set_covers_the_cases():
    clips = default_clips()
    one_sided = {(s, a) for c in clips if c.smile and len(c.eyes) == 1 for s, a in c.eyes.items()}
    for side in face.SIDES:
        assert len({a for s, a in one_sided if s == side}) >= 2, side
    assert any(c.blinks for c in clips)
    assert any(c.smile and len(c.eyes) == 2 for c in clips)
    assert any(c.smile and not c.eyes and not c.blinks for c in clips)
    assert {s for c in clips if not c.smile for s in c.corner} == set(face.SIDES)
    assert any(not c.smile and not c.corner for c in clips)
    assert {c.motion for c in clips} == {"none", "turn", "tilt", "approach"}
    names = [c.name for c in clips]
    assert len(names) == len(set(names))
    on_disk = {p.name[:-len(".truth.json")] for p in GENERATED.glob("*.truth.json")}
    if on_disk:
        assert on_disk == set(names), "regenerate: python scripts/make_clips.py --out tests/data/generated"


# ---------------------------------------------------------------- what MediaPipe sees (slow)

needs_media = pytest.mark.skipif(
    not (os.environ.get("COACH_FACE_MODEL") and os.environ.get(MEDIA_ENV)),
    reason="needs COACH_FACE_MODEL and COACH_TEST_MEDIA")


@pytest.mark.slow   # runs the tracker
@needs_media
@pytest.mark.parametrize("name, side", [("man_smile_synk_left_90", "left"),
                                        ("boy_smile_synk_right_70", "right")])
def test_tracker_sees_the_injected_narrowing(tmp_path, name, side):
    clip = next(c for c in default_clips() if c.name == name)
    faces = load_faces(os.environ[MEDIA_ENV], [clip.face], FACES_JSON
                             if FACES_JSON.is_file() else None)
    path = render(clip, faces[clip.face], tmp_path)
    info = json.loads((tmp_path / f"{name}.truth.json").read_text())
    m = measure_clip(path, info)
    assert m["found"] > 0.95
    other = face.other(side)
    # Lid gap over eye-centre distance, median over the hold, relative to the baseline.
    assert m[f"eye_{side}"] < -0.25
    assert m[f"eye_{side}"] < m[f"eye_{other}"] - 0.15
    assert m["mouth_width"] > 0.12


# ---------------------------------------------------------------- recipe parameters (fast, no model)

def _renderer(clip, name="man", depth=None):
    p = _cached_points()[name]
    return Renderer(clip, Face(name, np.zeros((400, 560, 3), np.uint8), (0, 0), p, "", depth))


def _corner_moves(clip, t=2.8):
    r = _renderer(clip)
    d = r.points(t) - r.p
    return np.array([np.linalg.norm(d[face.MOUTH_CORNER[s]]) for s in face.SIDES])


@pytest.mark.parametrize("scale", [0.1, 0.35, 1.0])
def test_smile_scale_scales_the_corner_movement(scale):
    full = _corner_moves(Clip("a", "man", "gentle-smile"))
    part = _corner_moves(Clip("b", "man", "gentle-smile", smile_scale=scale))
    np.testing.assert_allclose(part, scale * full, rtol=1e-9)
    t = truth(Clip("b", "man", "gentle-smile", smile_scale=scale))
    assert t["injected"]["smile_scale"] == scale
    np.testing.assert_allclose(t["injected"]["smile_corner_out_up"], np.array(SMILE) * scale)


def test_pucker_scale_scales_the_corner_movement():
    full = _corner_moves(Clip("a", "man", "lip-pucker"))
    part = _corner_moves(Clip("b", "man", "lip-pucker", pucker_scale=0.6))
    np.testing.assert_allclose(part, 0.6 * full, rtol=1e-9)
    assert truth(Clip("b", "man", "lip-pucker", pucker_scale=0.6))["injected"]["pucker_corner_in"] \
        == pytest.approx(0.6 * PUCKER)


def test_default_clips_keep_the_default_recipe():
    """New recipe parameters are off in the committed set, so its clips render as before."""
    for c in default_clips():
        assert (c.smile_scale, c.pucker_scale, c.eye_window, c.motion_hold) == (1.0, 1.0, (), ())
        assert c.motion in ("none", "turn", "tilt", "approach")
        t = truth(c)
        assert t["injected"]["smile_corner_out_up"] == (list(SMILE) if c.smile else None)
        assert t["person"] == c.face and t["variant"] in VARIANTS and t["pose_away_s"] is None
    # No face of the eval set may enter the committed cache.
    if FACES_JSON.is_file():
        assert set(json.loads(FACES_JSON.read_text())) == set(DEFAULT_FACES)


def test_truth_entries_per_variant():
    smile, pucker = "gentle-smile", "lip-pucker"
    one = truth(Clip("a", "man", smile, eyes={"left": 0.6}))
    assert [(e["side"], e["measure"]) for e in one["synkinesis"]] == [("left", "eye_opening")]
    assert one["variant"] == "smile_synk"
    duchenne = truth(Clip("b", "man", smile, eyes={"left": 0.5, "right": 0.4}))
    assert duchenne["synkinesis"] == [] and duchenne["variant"] == "smile_duchenne"
    both = truth(Clip("c", "man", pucker, eyes={"left": 0.7, "right": 0.35}))
    assert sorted((e["side"], e["injected"]) for e in both["synkinesis"]) == [("left", 0.7), ("right", 0.35)]
    assert both["variant"] == "pucker_bilateral"
    assert truth(Clip("d", "man", pucker, blinks=HOLD_BLINKS))["variant"] == "pucker_blink"
    for ex, prime in (("gentle-eye-closure", "closure"), ("brow-lift", "brow")):
        pulled = truth(Clip("e", "man", ex, corner={"right": 0.15}))
        assert [(e["side"], e["measure"]) for e in pulled["synkinesis"]] == [("right", "commissure_excursion")]
        assert pulled["variant"] == f"{prime}_oral"
        clean = truth(Clip("f", "man", ex))
        assert clean["synkinesis"] == [] and clean["variant"] == f"{prime}_clean"
    assert truth(Clip("g", "man", smile))["variant"] == "smile_clean"
    assert truth(Clip("g", "man", smile), iod=67.46)["iod_px"] == 67.5


def test_eye_window_narrows_the_eyes_only_inside_it():
    clip = Clip("a", "man", "gentle-smile", reps=((1.6, 7.4),), duration=8.0,
                      eyes={"left": 0.7}, eye_window=(3.3, 5.5))
    r = _renderer(clip)
    assert r.closures(2.5) == {"left": 0.0, "right": 0.0}        # smiling, eyes open
    assert r.closures(4.4)["left"] == pytest.approx(0.7) and r.closures(4.4)["right"] == 0
    assert r.closures(6.0) == {"left": 0.0, "right": 0.0}


def test_pose_clips_record_when_the_head_is_away():
    pose = [c for c in eval_clips() if c.variant == "pose_away"]
    assert 2 <= len(pose) <= 3 and len({c.face for c in pose}) == len(pose)
    for c in pose:
        t = truth(c)
        t0, t1 = t["pose_away_s"]
        assert t1 - t0 >= 2.5 and c.duration <= 8.0
        start, full, leave, back = c.motion_hold
        assert leave - full >= 2.5 and abs(c.motion_amount) >= 32
        assert c.motion_gain((full + leave) / 2) == 1.0 and c.motion_gain(start) == c.motion_gain(back) == 0
        # The narrowing (one eye) lies inside the away interval, ramps included.
        assert len(c.eyes) == 1 and t0 <= c.eye_window[0] and c.eye_window[1] <= t1
        assert [e["while_pose_away"] for e in t["synkinesis"]] == [True]
        assert t["variant"] == "pose_away" and t["motion"] == "turn_hold"


def test_3d_turn_moves_the_nose_more_than_the_outline():
    p = _cached_points()["man"]
    iod = iod_px(p)
    # A stand-in depth: an ellipsoid cap, the nose tip in front.
    c = p.mean(0)
    r2 = ((p - c) ** 2).sum(1) / (1.3 * iod) ** 2
    z = 1.1 * iod * np.clip(r2, 0, 1) - 0.5 * iod
    z[face.NOSE_TIP] -= 0.5 * iod
    clip = Clip("a", "man", "gentle-smile", reps=((1.6, 7.4),), duration=8.0, motion="turn_hold",
                      motion_amount=40, motion_hold=(2.0, 3.0, 5.8, 6.8))
    r = _renderer(clip, depth=z)
    still, _, _ = r.targets(1.0)
    np.testing.assert_allclose(still, r.points(1.0))
    turned, ctrl, depth = r.targets(4.0)
    shift = turned[:, 0] - r.points(4.0)[:, 0]
    assert abs(shift[face.NOSE_TIP]) > 0.5 * iod
    assert abs(shift[face.NOSE_TIP]) > 1.5 * max(abs(shift[234]), abs(shift[454]))   # the cheek edges
    assert len(ctrl) == len(depth) == len(r.ctrl) + len(r.ring)
    frame = r.frame(120)
    assert frame.shape == (SIZE[1], SIZE[0], 3)


def test_eval_set_matrix():
    everything = eval_clips()
    names = [c.name for c in everything]
    assert len(names) == len(set(names))
    assert [c.name for c in eval_clips()] == names                      # deterministic
    # The matrix (head motion in the hold and crops: see the next tests; the chin and neck clips:
    # test_synth_lower.py).
    clips = [c for c in everything if not c.condition.startswith(("hold_", "crop_"))
             and c.region not in ("chin", "neck")]
    assert 180 <= len(clips) <= 220
    persons = {FACES[c.face]["person"] for c in clips}
    assert len(persons) >= 12
    assert {c.variant for c in clips} == set(VARIANTS)
    for c in clips:
        assert c.name.startswith(f"{c.face}_{c.variant}")
        assert c.duration <= (8.0 if c.variant == "pose_away" else 5.0)
        assert c.motion in MOTIONS
        for b0, b1 in c.blinks:   # blinks in the hold, or (eye closure) outside the rep
            inside = any(r0 + RAMP_S <= b0 < b1 <= r1 - RAMP_S for r0, r1 in c.reps)
            outside = all(b1 <= r0 or b0 >= r1 for r0, r1 in c.reps)
            assert (outside and b0 >= BASELINE_S) if c.prime == "closure" else inside, c.name
        if c.smile and len(c.eyes) == 2:                                       # Duchenne: within 1.6x
            hi, lo = max(c.eyes.values()), min(c.eyes.values())
            assert hi <= 1.6 * lo, c.name
        if c.variant == "pucker_bilateral":
            assert len(set(c.eyes.values())) == 2, c.name
    per_person = {p: [c for c in clips if FACES[c.face]["person"] == p] for p in persons}
    for p, cs in per_person.items():
        v = {c.variant for c in cs}
        assert len(cs) >= 14 and {"smile_synk", "smile_duchenne", "smile_clean", "smile_blink", "pucker_synk",
                                   "pucker_bilateral", "pucker_clean", "pucker_blink", "closure_oral",
                                   "closure_clean", "brow_oral", "brow_clean"} <= v, p
    moving = sum(c.motion != "none" for c in clips) / len(clips)
    assert 0.2 <= moving <= 0.3
    smiles = [c.smile_scale for c in clips if c.variant == "smile_synk"]
    assert min(smiles) <= 0.1 and max(smiles) == 1.0
    amounts = [a for c in clips if c.variant == "smile_synk" for a in c.eyes.values()]
    assert min(amounts) == 0.3 and max(amounts) == 0.9
    assert {s for c in clips if c.variant == "smile_synk" for s in c.eyes} == set(face.SIDES)


def test_head_motion_in_the_hold_and_crops_cover_every_person():
    from coach.eval.evalset import HOLD_DEG, HOLD_MOTIONS, HOLD_SPEEDS
    from coach.eval.recipes import CROPS

    clips = [c for c in eval_clips() if c.region not in ("chin", "neck")]
    hold = [c for c in clips if c.condition.startswith("hold_")]
    crop = [c for c in clips if c.condition.startswith("crop_")]
    persons = {FACES[c.face]["person"] for c in clips}
    assert {FACES[c.face]["person"] for c in hold} == {FACES[c.face]["person"] for c in crop} == persons
    assert {c.motion for c in hold} == set(HOLD_MOTIONS) and {c.crop for c in crop} == set(CROPS)
    assert {c.name.rsplit("_", 1)[1] for c in hold} == set(HOLD_SPEEDS)
    by_name = {c.name: c for c in hold}
    for c in hold:
        (r0, r1), = c.reps
        start, full, leave, back = c.motion_hold
        assert r0 + RAMP_S <= start and full < leave <= r1 - RAMP_S      # at its amount during the hold
        assert c.motion_gain(BASELINE_S) == 0 and c.motion_gain((full + leave) / 2) == 1.0
        assert abs(c.motion_amount) == HOLD_DEG if c.motion != "approach" else c.motion_amount > 1
        if c.variant.endswith("_synk"):       # its clean twin: the same motion, nothing injected
            twin = by_name[re.sub(r"_synk_(left|right)\d+", "_clean", c.name)]
            assert not twin.eyes and (twin.motion, twin.motion_amount, twin.motion_hold, twin.reps) == \
                (c.motion, c.motion_amount, c.motion_hold, c.reps)
    assert sum(c.variant.endswith("_synk") for c in hold) == sum(c.variant.endswith("_clean") for c in hold)
    assert all(c.motion == "none" for c in crop)


@pytest.mark.parametrize("part", ["forehead", "chin", "left", "right"])
def test_a_crop_cuts_off_its_part_and_keeps_what_the_measures_read(part):
    """The output window cuts the face at its edge; the landmarks a smile's and an eye closure's
    measures read and the pose's stay inside, farther from the edge than the quality gate asks."""
    p = _cached_points()["man"]
    r = Renderer(Clip("a", "man", "gentle-smile", crop=part),
                 Face("man", np.zeros((700, 900, 3), np.uint8), (200, 150), p + (200, 150), ""))
    x0, y0, s = r.window
    q = (r.p - (x0, y0)) / s                                      # the neutral landmarks in the output frame
    w, h = SIZE
    edge = np.minimum(np.minimum(q[:, 0], w - q[:, 0]), np.minimum(q[:, 1], h - q[:, 1]))
    # The crop clips are smiles and eye closures: the lids, the mouth corners, and the pose's points.
    read = [*face.POSE_POINTS, *face.MEASURE_POINTS["eye_opening"], *face.MEASURE_POINTS["commissure_excursion"]]
    from coach.core.quality import EDGE_MARGIN_IOD

    assert edge[read].min() > EDGE_MARGIN_IOD * iod_px(q)
    mesh = q[:468]
    out = {"forehead": mesh[:, 1].min() < 0, "chin": mesh[:, 1].max() > h,
           "left": mesh[:, 0].max() > w, "right": mesh[:, 0].min() < 0}     # the man's left is the image's right
    assert [k for k, v in out.items() if v] == [part]


def test_faces_name_their_person_and_folder(monkeypatch, tmp_path):
    for name, spec in FACES.items():
        assert spec["dir"] in ("media", "faces") and spec["person"]
        x, y, w, h = spec["crop"]
        assert w * SIZE[1] == h * SIZE[0], name
    assert FACES["obama_small"]["person"] == FACES["obama"]["person"]
    assert FACES["rose1"]["person"] == FACES["rose2"]["person"]
    monkeypatch.delenv(FACES_ENV, raising=False)
    assert source_path("kit", tmp_path / "media") == tmp_path / "faces" / "kit-harington.jpeg"
    assert source_path("man", tmp_path / "media") == tmp_path / "media" / "single_face.mp4"
    monkeypatch.setenv(FACES_ENV, str(tmp_path / "elsewhere"))
    assert source_path("kit", tmp_path / "media") == tmp_path / "elsewhere" / "kit-harington.jpeg"


# ---------------------------------------------------------------- the faces themselves (needs the media)

@pytest.mark.slow   # runs the tracker
@pytest.mark.skipif(not os.environ.get(MEDIA_ENV), reason="needs COACH_TEST_MEDIA (and the face model)")
def test_faces_load_and_span_the_sizes(tmp_path):
    """Every face loads, MediaPipe finds it, and the IODs span small (<= 40 px) to large (>= 110 px)."""
    faces = load_faces(os.environ[MEDIA_ENV], list(FACES), tmp_path / "faces.json",
                             seed=FACES_JSON, depth=True)
    iod = {name: iod_px(f.points) for name, f in faces.items()}
    assert all(25 <= v <= 150 for v in iod.values()), iod
    assert min(iod.values()) <= 40 and max(iod.values()) >= 110
    small = {FACES[n]["person"] for n, v in iod.items() if v <= 40}
    large = {FACES[n]["person"] for n, v in iod.items() if v >= 110}
    assert len(small) >= 3 and len(large) >= 2, (small, large)
    for name, f in faces.items():
        assert f.view.shape == (SIZE[1], SIZE[0], 3)
        assert abs(iod[name] - FACES[name]["iod"]) < 3, name      # the documented size
        pts = f.points - f.origin
        assert (pts >= 0).all() and (pts[:, 0] < SIZE[0]).all() and (pts[:, 1] < SIZE[1]).all(), name
    # The eval recipes do not fold the mesh (a sliver at an eye corner at full closure aside).
    for clip in eval_clips():
        r = Renderer(clip, faces[clip.face])
        for t in np.arange(0, clip.duration, 0.2):
            assert r.warper.flipped(r.targets(t, turn=False)[1]) <= 2, (clip.name, t)
