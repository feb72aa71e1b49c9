"""The ground-truth generator (coach.synth) and the committed clips it made.

The fast tests need neither media nor model: the warp is checked on a synthetic
coordinate image, the displacement fields on the cached neutral landmarks of the
real faces (tests/data/generated/faces.json). The slow test renders a clip from
the real face and runs the tracker on it; it needs COACH_FACE_MODEL and
COACH_TEST_MEDIA.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from coach import synth
from coach.core import face

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
    warper = synth.Warper(src, (w, h))
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
    warper = synth.Warper(src, (w, h))
    # Output pixel p shows warped-canvas point view @ p: here a shift by (7, 3).
    view = np.array([[1, 0, 7], [0, 1, 3], [0, 0, 1.0]])
    out = warper.warp(_coordinate_image(w, h), dst, view, (w - 20, h - 20))
    inner = (dst[:, 0] > 10) & (dst[:, 0] < w - 30) & (dst[:, 1] > 5) & (dst[:, 1] < h - 25)
    np.testing.assert_allclose(_sample(out, dst[inner] - (7, 3)), src[inner], atol=1.0)


def test_flipped_counts_folds():
    src = np.array([[50.0, 50], [100, 50], [75, 90], [75, 20]])
    warper = synth.Warper(src, (150, 120))
    assert warper.flipped(src) == 0
    folded = src.copy()
    folded[2] = (75, 10)  # pushed through the opposite edge
    assert warper.flipped(folded) > 0


# ---------------------------------------------------------------- displacement fields on real faces

@pytest.mark.parametrize("amount", [0.4, 0.7, 0.97])
def test_eye_closure_moves_the_lids_of_one_eye(amount):
    for name, p in _cached_points().items():
        for side in face.SIDES:
            d = synth.eye_closure(p, side, amount)
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
        d = synth.corner_pull(p, "left", *synth.SMILE) + synth.corner_pull(p, "right", *synth.SMILE)
        q = p + d
        l, r = face.MOUTH_CORNER["left"], face.MOUTH_CORNER["right"]
        w0, w1 = np.linalg.norm(p[l] - p[r]), np.linalg.norm(q[l] - q[r])
        assert w1 / w0 - 1 == pytest.approx(2 * synth.SMILE[0], abs=0.01), name
        assert q[l, 1] < p[l, 1] and q[r, 1] < p[r, 1]          # corners go up (image y down)
        assert np.abs(d[[face.NASION, 152]]).max() < 0.02 * w0   # the nose ridge and chin stay


def test_one_corner_pull_leaves_the_other_corner():
    for name, p in _cached_points().items():
        for side in face.SIDES:
            d = synth.corner_pull(p, side, 0.6 * 0.12, 0.8 * 0.12)
            w0 = np.linalg.norm(p[291] - p[61])
            assert np.linalg.norm(d[face.MOUTH_CORNER[side]]) == pytest.approx(0.12 * w0, rel=0.01)
            assert np.abs(d[face.MOUTH_CORNER[face.other(side)]]).max() < 1e-9
            # The pulled corner goes outward: away from the other corner.
            mid = (p[291] + p[61]) / 2
            c = p[face.MOUTH_CORNER[side]]
            assert np.dot(d[face.MOUTH_CORNER[side]], c - mid) > 0


def test_no_recipe_folds_the_mesh():
    """Every committed clip, at every frame time, on its own face: no folded triangle."""
    pts = _cached_points()
    for clip in synth.default_clips():
        p = pts[clip.face]
        src = synth.Face(clip.face, np.zeros((400, 560, 3), np.uint8), (0, 0), p, "")
        r = synth.Renderer(clip, src)
        for t in np.arange(0, clip.duration, 0.1):
            assert r.warper.flipped(r.points(t)[r.ctrl]) == 0, (clip.name, t)


def test_rendering_is_deterministic():
    p = _cached_points()["man"]
    img = np.random.default_rng(0).integers(0, 255, (360, 480, 3), dtype=np.uint8)
    clip = next(c for c in synth.default_clips() if c.name == "man_smile_synk_left_70_turn")
    a = synth.Renderer(clip, synth.Face("man", img, (0, 0), p, ""))
    b = synth.Renderer(clip, synth.Face("man", img.copy(), (0, 0), p.copy(), ""))
    for i in (0, 75, 130):
        assert np.array_equal(a.frame(i), b.frame(i))


def test_envelopes():
    assert synth.rep_envelope(1.0, 1.6, 4.0) == 0
    assert synth.rep_envelope(2.8, 1.6, 4.0) == 1
    assert synth.rep_envelope(1.8, 1.6, 4.0) == pytest.approx(0.5)
    assert synth.blink_envelope(2.36, 2.3, 2.5) == pytest.approx(1.0)
    assert synth.blink_envelope(2.6, 2.3, 2.5) == 0


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
        assert size == synth.SIZE
        assert n == round(t["injected"]["duration_s"] * t["fps"])
        assert t["exercise"] in ("gentle-smile", "open-mouth-smile", "gentle-eye-closure", "lip-pucker", "brow-lift")
        assert t["baseline_s"] == [0, 1.5]
        assert t["motion"] in ("none", "turn", "tilt", "approach")
        for r in t["reps"]:
            assert t["baseline_s"][1] <= r["start_s"] < r["end_s"] <= t["injected"]["duration_s"]
        for b0, b1 in t["blinks_s"]:
            assert any(r["start_s"] + synth.RAMP_S <= b0 < b1 <= r["end_s"] - synth.RAMP_S for r in t["reps"])
        for s in t["synkinesis"]:
            assert s["side"] in face.SIDES
            assert s["measure"] == ("commissure_excursion" if t["exercise"] in ("gentle-eye-closure", "brow-lift")
                                    else "eye_opening")


def test_committed_set_covers_the_cases():
    clips = synth.default_clips()
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
    not (os.environ.get("COACH_FACE_MODEL") and os.environ.get(synth.MEDIA_ENV)),
    reason="needs COACH_FACE_MODEL and COACH_TEST_MEDIA")


@needs_media
@pytest.mark.parametrize("name, side", [("man_smile_synk_left_90", "left"),
                                        ("boy_smile_synk_right_70", "right")])
def test_tracker_sees_the_injected_narrowing(tmp_path, name, side):
    clip = next(c for c in synth.default_clips() if c.name == name)
    faces = synth.load_faces(os.environ[synth.MEDIA_ENV], [clip.face], FACES_JSON
                             if FACES_JSON.is_file() else None)
    path = synth.render(clip, faces[clip.face], tmp_path)
    info = json.loads((tmp_path / f"{name}.truth.json").read_text())
    m = synth.measure_clip(path, info)
    assert m["found"] > 0.95
    other = face.other(side)
    # Lid gap over eye-centre distance, median over the hold, relative to the baseline.
    assert m[f"eye_{side}"] < -0.25
    assert m[f"eye_{side}"] < m[f"eye_{other}"] - 0.15
    assert m["mouth_width"] > 0.12
