"""No video is stored unless asked for; `--record-video` stores it; landmark streams on request."""
import os
import subprocess
import sys

import cv2
import pytest


def run_coach(tmp_path, media, *extra):
    # Run from the temporary folder, so anything written "here" would be found below.
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "disk",
           "SDL_DISKAUDIOFILE": str(tmp_path / "audio.raw")}
    return subprocess.run([sys.executable, "-m", "coach", "run", "--video", str(media / "single_face.mp4"), "--fast",
                           "--plan", "gentle-smile", "--db", str(tmp_path / "c.db"), "--headless",
                           "--shots", str(tmp_path / "shots"), *map(str, extra)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)


def videos_under(folder):
    return [p for p in folder.rglob("*") if p.suffix.lower() in (".mp4", ".avi", ".mov", ".mkv")]


@pytest.mark.slow   # runs the tracker
def test_no_video_is_stored_by_default(tmp_path, media, face_model):
    r = run_coach(tmp_path, media)
    assert r.returncode == 0, r.stderr
    assert videos_under(tmp_path) == []


@pytest.mark.slow   # runs the tracker
def test_record_video_and_landmarks_on_request(tmp_path, media, face_model):
    r = run_coach(tmp_path, media, "--record-video", tmp_path / "me.mp4", "--save-landmarks", tmp_path / "me.npz")
    assert r.returncode == 0, r.stderr
    cap = cv2.VideoCapture(str(tmp_path / "me.mp4"))
    assert cap.isOpened() and int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) > 30
    cap.release()
    from coach.core.frames import load_stream
    info, frames = load_stream(tmp_path / "me.npz")
    assert len(frames) > 30 and any(f.has_face for f in frames)
