"""The tracker: the largest face wins, no face is marked, clips can follow one another."""
import cv2
import numpy as np

from coach.io.tracker import Tracker


def first_frame(media):
    cap = cv2.VideoCapture(str(media / "single_face.mp4"))
    ok, bgr = cap.read()
    cap.release()
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


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
