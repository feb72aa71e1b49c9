"""Measures are per anatomical side and do not change when the head moves."""
import numpy as np
import pytest

from coach.core.calibration import fit_baseline, relative, REL_INDEX
from coach.core.frames import LandmarkFrame, load_stream
from coach.core.measures import INDEX, measure


@pytest.fixture(scope="module")
def frames(single_face_stream):
    return load_stream(single_face_stream)[1]


def _moved(frame, angle_deg=0.0, axis="z", scale=1.0, shift=(0.0, 0.0)):
    """The same face rotated/scaled/shifted rigidly in pixel space."""
    p = frame.pixels().astype(np.float64)
    c = p.mean(0)
    a = np.radians(angle_deg)
    ca, sa = np.cos(a), np.sin(a)
    rot = {"z": [[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]],
           "y": [[ca, 0, sa], [0, 1, 0], [-sa, 0, ca]],
           "x": [[1, 0, 0], [0, ca, -sa], [0, sa, ca]]}[axis]
    q = (p - c) @ np.array(rot).T * scale + c + [shift[0], shift[1], 0]
    norm = (q / [frame.width, frame.height, frame.width]).astype(np.float32)
    return LandmarkFrame(frame.t, frame.width, frame.height, norm)


@pytest.mark.parametrize("kw", [dict(angle_deg=15, axis="z"), dict(angle_deg=20, axis="y"),
                                dict(angle_deg=15, axis="x"), dict(scale=1.4), dict(shift=(60, -30))])
def test_rigid_head_motion_leaves_measures_unchanged(frames, kw):
    for f in frames[::10]:
        a, b = measure(f).values, measure(_moved(f, **kw)).values
        assert np.allclose(a, b, atol=2e-3), (kw, a - b)


def test_sides_are_anatomical(frames):
    """Patient's left is on the image's right in an unmirrored image."""
    f = frames[0]
    p = f.points
    assert p[263, 0] > p[33, 0]      # patient's left eye corner is to the image's right
    m = measure(f)
    mirrored_pts = p.copy()
    mirrored_pts[:, 0] = 1.0 - mirrored_pts[:, 0]
    # Mirroring the image swaps which landmark is where; narrowing one eye by moving its
    # upper lid must show up on that anatomical side only.
    lids = np.array([387, 386, 385])  # patient's left upper lid
    squint = p.copy()
    squint[lids, 1] += 0.4 * (p[[373, 374, 380], 1] - p[lids, 1])
    m2 = measure(LandmarkFrame(f.t, f.width, f.height, squint))
    assert m2.get("eye_opening", "left") < 0.75 * m.get("eye_opening", "left")
    assert m2.get("eye_opening", "right") == pytest.approx(m.get("eye_opening", "right"))


def test_baseline_and_relative_on_a_real_smile(frames):
    ms = [measure(f) for f in frames]
    base = fit_baseline([m for m in ms if m.t < 0.5])
    rels = np.array([relative(m, base) for m in ms])
    smile = rels[[1.2 < m.t < 2.0 for m in ms]]
    exc = smile[:, REL_INDEX["commissure_excursion"]]
    eye = smile[:, REL_INDEX["eye_opening"]]
    assert (exc > 0.3).all()                     # a big smile moves both corners
    assert -0.35 < eye.mean() < -0.1             # normal eyes narrow ~22 % (SD 13) in a smile
    assert abs(eye[:, 0].mean() - eye[:, 1].mean()) < 0.08  # and alike on both sides
    assert 40 < base.mm_per_iod < 80             # iris-based: 11.77 mm / iris ≈ 60 mm per IOD


def test_baseline_window_that_catches_the_smile_onset_stays_neutral(frames):
    """The default 1 s window of single_face.mp4 holds 0.4 s of smile; the baseline ignores it."""
    ms = [measure(f) for f in frames]
    early = fit_baseline([m for m in ms if m.t < 0.5]).values
    window = fit_baseline([m for m in ms if m.t < 1.0]).values
    i = INDEX["commissure_x"]
    assert np.allclose(window[i], early[i], rtol=0.05)


def test_no_face_frame():
    m = measure(LandmarkFrame(0.0, 640, 480, None))
    assert not m.face
