"""The tracker: the largest face wins, no face is marked, clips can follow one another."""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from coach.camera.tracker import Tracker


def first_frame(media):
    cap = cv2.VideoCapture(str(media / "single_face.mp4"))
    ok, bgr = cap.read()
    cap.release()
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.mark.slow   # runs the tracker
def test_several_faces_the_largest_is_tracked(media, face_model):
    big = first_frame(media)
    small = cv2.resize(big, None, fx=0.45, fy=0.45)
    scene = big.copy()
    scene[: small.shape[0], : small.shape[1]] = small            # a second, smaller person
    with Tracker(face_model) as tracker:
        alone = tracker.track(big, 0.0)
        tracker.new_clip()
        both = tracker.track(scene, 0.0)
    assert alone.has_face and both.has_face
    # The big face's landmarks, not the small one's (which sit in the top-left corner).
    assert np.abs(both.points[:, :2] - alone.points[:, :2]).max() < 0.05
    assert both.points.shape == (478, 3) and both.blendshapes and both.matrix.shape == (4, 4)


@pytest.mark.slow   # runs the tracker
def test_no_face_is_marked_and_timestamps_survive_clip_changes(face_model):
    blank = np.full((360, 640, 3), 90, np.uint8)
    with Tracker(face_model) as tracker:
        for clip in range(3):                                     # each clip restarts at t = 0
            tracker.new_clip()
            for i in range(3):
                frame = tracker.track(blank, i / 30, i)
                assert not frame.has_face and frame.points is None
                assert (frame.width, frame.height) == (640, 360)
    tracker.close()                                               # closing twice is harmless


@pytest.mark.slow   # runs the tracker
def test_extras_off_gives_the_same_landmarks(media, face_model):
    rgb = first_frame(media)
    with Tracker(face_model) as full, Tracker(face_model, extras=False) as bare:
        a, b = full.track(rgb, 0.0), bare.track(rgb, 0.0)
    assert np.array_equal(a.points, b.points)
    assert a.blendshapes and a.matrix is not None
    assert b.blendshapes == {} and b.matrix is None
    assert len(bare.faces) == 1 and np.array_equal(bare.faces[0], b.points)


@pytest.mark.slow   # starts a process
def test_mediapipe_import_defers_drawing_and_audio():
    """matplotlib.pyplot and sounddevice, which mediapipe imports for helpers coach never
    uses, are not loaded with it; they still load at their first use."""
    code = ("import sys\n"
            "from coach.camera.tracker import import_mediapipe\n"
            "mp = import_mediapipe()\n"
            "assert mp.Image and mp.tasks.vision.FaceLandmarker\n"
            "assert not {'matplotlib', 'matplotlib.pyplot', 'sounddevice'} & set(sys.modules)\n"
            "from mediapipe.tasks.python.vision import drawing_utils\n"
            "assert callable(drawing_utils.plt.figure) and 'matplotlib.pyplot' in sys.modules\n"
            "import matplotlib.pyplot as plt\n"
            "assert plt.figure is drawing_utils.plt.figure\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "MPLBACKEND": "Agg"})
    assert r.returncode == 0, r.stderr
