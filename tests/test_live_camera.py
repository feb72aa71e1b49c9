"""A camera that stops delivering mid-session: the real loop (camera source with its grabber
thread, the real tracker, the session, the store) shows "camera lost", reconnects and goes
on. Only the OpenCV capture device is fake."""
import time

import cv2
import numpy as np
import pytest

from coach.app import HomeDriver, run_loop
from coach.log.recorder import SessionLog
from coach.core.session import Session
from coach.screen.display import NullDisplay
from coach.camera.sources import CameraSource
from coach.log.store import Store
from coach.camera.tracker import Tracker


class FaceCamera:
    """cv2.VideoCapture stand-in: real face frames at ~30 fps, then (optionally) dead."""

    def __init__(self, frames, deliver=None, opened=True):
        self.frames, self.deliver, self.opened = frames, deliver, opened
        self.sent = 0
        self.released = False

    def isOpened(self):
        return self.opened and not self.released

    def set(self, prop, value):
        return True

    def get(self, prop):
        return 0.0

    def release(self):
        self.released = True

    def read(self):
        time.sleep(1 / 30)
        if self.deliver is not None and self.sent >= self.deliver:
            return False, None                    # unplugged: every read fails
        frame = self.frames[self.sent % len(self.frames)].copy()
        frame[0, 0, 0] = self.sent % 256          # never a frozen image
        self.sent += 1
        return True, frame


@pytest.mark.slow   # runs the tracker
def test_camera_lost_mid_session_reconnects(media, face_model, tmp_path, library):
    cap = cv2.VideoCapture(str(media / "single_face.mp4"))
    neutral = []
    while len(neutral) < 15:                      # the neutral first half-second
        ok, f = cap.read()
        neutral.append(f)
    cap.release()
    devices = [FaceCamera(neutral, deliver=120), FaceCamera(neutral, opened=False), FaceCamera(neutral)]
    opened = []

    def factory(index, api):
        dev = devices.pop(0) if devices else FaceCamera(neutral, opened=False)
        opened.append(dev)
        return dev

    source = CameraSource(capture_factory=factory, stall_s=0.5, max_failures=5, backoff=(0.05, 0.2))
    display = NullDisplay()
    store = Store.open(tmp_path / "c.db")
    session = Session([library["gentle-smile"]], welcome_s=0.2)
    log = SessionLog(store, None, "camera", "home")
    seen = {"lost": False, "after": 0}

    def should_stop():
        screen = display.views[-1].screen
        if screen == "camera_lost":
            seen["lost"] = True
        elif seen["lost"]:
            seen["after"] += 1
        return seen["after"] >= 20 or len(display.views) > 2000

    with Tracker(face_model) as tracker:
        try:
            run_loop(source, HomeDriver(session, log), display, tracker=tracker, should_stop=should_stop)
        finally:
            source.close()
    screens = [v.screen for v in display.views]
    lost_at = screens.index("camera_lost")
    assert "calibrate" in screens[:lost_at]
    assert "Camera lost" in display.views[lost_at].title
    assert screens[-1] in ("calibrate", "instruct", "move")          # back to coaching
    assert source.reconnects >= 1 and opened[0].released
    events = store.event_rows(session_id=log.session_id)
    assert any(e["kind"] == "camera_lost" for e in events)
    assert store.get_session(log.session_id)["status"] == "interrupted"   # the loop was stopped mid-session
    store.close()
    ts = [v.t for v in display.views]
    assert all(b >= a for a, b in zip(ts, ts[1:]))
    assert np.isfinite(ts).all()
