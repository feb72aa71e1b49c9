"""The chin and the neck, read from the picture: the core's steps on profiles and features built
here with known answers, the camera's readings on drawn pictures, and their travel in streams and
baselines."""
from __future__ import annotations

import math

import numpy as np
import pytest

from coach.core import chin, neck
from coach.core.calibration import Baseline, REL_INDEX, fit_baseline, relative
from coach.core.frames import LandmarkFrame, StreamInfo, load_stream, save_stream
from coach.core.measures import MEASURES, measure
from coach.resources import builtin_dir

ROWS = chin.CHIN_ROWS


def _profile(chin_row: float, lip_row: float = 16.0) -> np.ndarray:
    """A grey profile down the chin: skin, a dark lip line at `lip_row`, and the chin's edge (bright
    skin above, the dark shadow on the neck below) at `chin_row`. Positions may be fractional."""
    r = np.arange(ROWS, dtype=float)
    skin = 150.0 - 70.0 * np.exp(-0.5 * ((r - lip_row) / 1.5) ** 2)
    shadow = 1.0 / (1.0 + np.exp(-(r - chin_row) / 0.8))          # 0 above the edge, 1 below
    return skin - 80.0 * shadow + 10.0 * np.sin(r / 3.0) * (r < chin_row - 3)


def test_shift_finds_a_known_displacement_to_a_fraction_of_a_row():
    ref = chin.edges(_profile(40.0))
    for moved in (-6.0, -2.5, 0.0, 3.25):
        cur = chin.edges(_profile(40.0 + moved))
        d, match = chin.shift(ref, cur, 32, 45)
        assert abs(d - moved) < 0.3 and match > 0.9


def test_chin_raise_is_the_share_of_the_lip_to_chin_height_lost_on_that_side_only():
    lip_y = chin.CHIN_Y0 + 16 * chin.ROW
    chin_y = chin.CHIN_Y0 + 40 * chin.ROW
    height = chin_y - lip_y
    ref = np.stack([np.stack([_profile(40.0)] * chin.CHIN_COLS)] * 2)
    cur = ref.copy()
    cur[0] = np.stack([_profile(40.0 - 6.0)] * chin.CHIN_COLS)      # the left chin rises 6 rows
    got = chin.chin_raise(ref, cur, np.full(2, lip_y), np.full(2, chin_y), np.full(2, lip_y))
    assert got[0] == pytest.approx(6 * chin.ROW / height, abs=0.02)
    assert abs(got[1]) < 0.02
    # The jaw opening moves the lip and the chin down together: nothing.
    low = np.stack([np.stack([_profile(40.0 + 5.0)] * chin.CHIN_COLS)] * 2)
    got = chin.chin_raise(ref, low, np.full(2, lip_y), np.full(2, chin_y), np.full(2, lip_y + 5 * chin.ROW))
    assert np.all(np.abs(got) < 0.02)


def test_a_chin_that_no_longer_looks_like_itself_is_not_read():
    lip_y, chin_y = chin.CHIN_Y0 + 16 * chin.ROW, chin.CHIN_Y0 + 40 * chin.ROW
    ref = np.stack([np.stack([_profile(40.0)] * chin.CHIN_COLS)] * 2)
    rng = np.random.default_rng(1)
    covered = rng.normal(100, 30, ref.shape)          # a hand or a scarf over the chin
    got = chin.chin_raise(ref, covered, np.full(2, lip_y), np.full(2, chin_y), np.full(2, lip_y))
    assert np.all(np.isnan(got))


def _features(inside=1.0, luma=120.0, skin=0.9, ex=2.0, ey=3.0) -> np.ndarray:
    return np.array([inside, luma, skin, ex, ey], dtype=float)


def test_neck_ridges_rise_with_vertical_energy_and_are_never_guessed():
    ref = np.stack([_features(), _features()])
    cur = np.stack([_features(ex=4.0), _features(ex=2.0)])
    got = neck.ridges(ref, cur)
    assert got[0] == pytest.approx(1.0) and got[1] == pytest.approx(0.0)
    # Sharper or brighter everywhere (both directions rise alike) is not cords.
    assert neck.ridges(ref, np.stack([_features(ex=3.0, ey=4.5)] * 2))[0] == pytest.approx(0.0)
    for why, bad in (("out", _features(inside=0.6)), ("dark", _features(luma=20.0)),
                     ("covered", _features(skin=0.2))):
        assert neck.unusable(bad) == why
        got = neck.ridges(ref, np.stack([bad, _features()]))
        assert math.isnan(got[0]) and not math.isnan(got[1])
        assert neck.state(got[0], False) == "can't tell" and neck.state(got[1], False) == "not seen"
        assert neck.hint(ref, np.stack([bad, _features()])) == neck.HINTS[why]
        # A neck that could not be read at rest cannot be read later either.
        assert math.isnan(neck.ridges(np.stack([bad, _features()]), ref)[0])
    assert neck.hint(ref, ref) == ""
    assert neck.state(0.8, True) == "seen"


def _demo_frame() -> LandmarkFrame:
    _, frames = load_stream(builtin_dir("data") / "demo.landmarks.npz")
    return next(f for f in frames if f.has_face)


def _picture(f: LandmarkFrame, stripes_on: str = "") -> np.ndarray:
    """A skin-coloured picture under the demo face (a little grain, a shadow under the chin), with
    dark vertical stripes drawn below the jaw on the patient's `stripes_on` side (the image side its
    chin landmarks are on)."""
    rng = np.random.default_rng(7)
    img = np.clip(np.array((200, 150, 120)) + rng.normal(0, 4, (f.height, f.width, 1)), 0, 255).astype(np.uint8)
    p = f.pixels()
    img[int(p[152, 1]) + 1:] = (img[int(p[152, 1]) + 1:] * 0.8).astype(np.uint8)   # the shadow under the chin
    if stripes_on:
        side_x = p[377 if stripes_on == "left" else 148, 0]
        mid = p[152, 0]
        chin_y, iod = p[152, 1], float(np.linalg.norm(p[33, :2] - p[263, :2]))
        y0, y1 = int(chin_y + 0.25 * iod), int(chin_y + 0.9 * iod)
        for k in range(4):
            x = int(mid + np.sign(side_x - mid) * (0.12 + 0.11 * k) * iod)
            img[y0:y1, x - 2:x + 2] = (150, 105, 85)
    return img


def test_the_camera_reads_cords_on_their_side_and_the_neck_out_of_the_picture():
    from coach.camera.pixels import read_pixels

    f = _demo_frame()
    plain = read_pixels(_picture(f), f)["neck"]
    left = read_pixels(_picture(f, "left"), f)["neck"]
    assert plain[0][neck.INSIDE] == 1.0 and plain[0][neck.SKIN] > 0.9
    assert neck.ridges(plain, left)[0] > 1.0 and abs(neck.ridges(plain, left)[1]) < 0.05
    # The same face, the picture cut off just under the chin: the neck is out of it.
    p = f.pixels()
    cut = int(p[152, 1]) + 3
    small = LandmarkFrame(f.t, f.width, cut, f.points * np.array([1.0, f.height / cut, 1.0], np.float32))
    got = read_pixels(_picture(f)[:cut], small)["neck"]
    assert neck.unusable(got[0]) == "out" and neck.unusable(got[1]) == "out"


def test_readings_travel_in_streams_and_baselines(tmp_path):
    from coach.camera.pixels import read_pixels

    f = _demo_frame()
    img = _picture(f, "right")
    frames = [LandmarkFrame(i / 30, f.width, f.height, f.points, {}, None, i, read_pixels(img, f)) for i in range(8)]
    frames.insert(3, LandmarkFrame(3.5 / 30, f.width, f.height, None, {}, None, 3))
    path = tmp_path / "s.landmarks.npz"
    save_stream(path, frames, StreamInfo("x", 30.0, f.width, f.height))
    _, back = load_stream(path)
    assert back[3].readings is None and back[0].readings is not None
    for k, v in frames[0].readings.items():
        assert np.allclose(back[0].readings[k], v, rtol=2e-3, atol=0.05), k
    base = fit_baseline([measure(x) for x in back])
    assert base.neck is not None and base.chin_profile is not None
    again = Baseline.from_dict(base.to_dict())
    for name in ("chin_profile", "chin_marks", "neck"):
        assert np.allclose(getattr(again, name), getattr(base, name), atol=1e-3)
    rel = relative(measure(back[0]), again)
    assert rel is not None and abs(rel[REL_INDEX["neck_bands"], 1]) < 0.05
    assert abs(rel[REL_INDEX["chin_raise"], 0]) < 0.05


def test_a_baseline_saved_before_the_chin_and_neck_still_loads():
    f = _demo_frame()
    base = fit_baseline([measure(f)] * 6)
    d = base.to_dict()
    d.pop("pixels")
    for name in ("lower_lip_y", "chin_y", "lower_lip_red", "chin_pad"):
        d["measures"].pop(name)
    old = Baseline.from_dict(d)
    assert old.neck is None and old.values.shape == (len(MEASURES), 2)
    rel = relative(measure(f), old)
    assert rel is not None and np.isnan(rel[REL_INDEX["neck_bands"]]).all()
    assert np.isnan(rel[REL_INDEX["chin_raise"]]).all() and abs(rel[REL_INDEX["eye_opening"], 0]) < 1e-9
