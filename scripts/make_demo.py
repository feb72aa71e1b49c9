"""Make the landmark recording that `coach demo` replays (coach/data/demo.landmarks.npz).

A real face (the man of media/single_face.mp4) is warped by coach.eval.render into a
30-second gentle-smile set: three slow smiles, the second with the patient's
left eye narrowing in step (oral-ocular synkinesis). The clip is then run
through the project's own tracker, and only the landmark stream is kept (no
video is committed). Its timeline matches the demo session: welcome 3 s,
calibration 2 s, instructions 5 s, then the reps.

    COACH_TEST_MEDIA=../shared/media COACH_FACE_MODEL=../shared/models/face_landmarker.task \
        python scripts/make_demo.py
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from coach.eval.faces import FPS, SIZE, load_faces
from coach.eval.recipes import Clip
from coach.eval.render import Renderer
from coach.analysis import track_video
from coach.core.frames import save_stream

REPS = ((10.5, 14.7), (17.5, 21.7), (24.5, 28.7))
SYNK_REP = 1            # the second smile
DURATION = 31.0
OUT = Path(__file__).resolve().parent.parent / "coach" / "data" / "demo.landmarks.npz"


class DemoRenderer(Renderer):
    """The left eye narrows only during the second smile."""

    def points(self, t: float):
        a, b = REPS[SYNK_REP]
        self.clip.eyes["left"] = 0.8 if a - 0.1 <= t <= b + 0.1 else 0.0
        return super().points(t)


def main() -> None:
    media = os.environ["COACH_TEST_MEDIA"]
    faces = load_faces(media, ["man"])
    clip = Clip("demo", "man", "gentle-smile", reps=REPS, duration=DURATION, eyes={"left": 0.0},
                      notes="demo: three smiles, left-eye synkinesis in the second")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "demo.mp4"
        r = DemoRenderer(clip, faces["man"])
        import cv2
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
        for i in range(r.n):
            writer.write(r.frame(i))
        writer.release()
        info, frames = track_video(path)
    save_stream(OUT, frames, info)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.2f} MB, {len(frames)} frames)")


if __name__ == "__main__":
    main()
