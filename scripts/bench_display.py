"""Time PygameDisplay.draw per view mode, headless; optionally save screenshots.

    python scripts/bench_display.py [--frames 300] [--camera 640x480] [--shots DIR]

Uses SDL's dummy video driver, so it measures our drawing (plus a no-op flip),
not a GPU. 30 fps needs well under 33 ms per frame, leaving room for tracking.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from coach.core.feedback import FeedbackView, Meter  # noqa: E402
from coach.eval.demo_face import demo_face  # noqa: E402
from coach.screen.display import VIEWS, PygameDisplay  # noqa: E402


def camera_frame(points: np.ndarray, w: int = 640, h: int = 480) -> np.ndarray:
    """A painted stand-in for a webcam image of `points` (RGB, unmirrored)."""
    import json

    from coach.resources import builtin_dir
    mesh = json.loads((builtin_dir("data") / "face_mesh.json").read_text())
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    img = (np.array([70, 80, 92], np.float32) * (1 - 0.4 * yy) + np.zeros((h, w, 3), np.float32)).astype(np.uint8)
    xy = (points[:, :2] * [w, h]).astype(np.int32)
    oval = [e[0] for e in mesh["face_oval"]]
    cv2.fillPoly(img, [xy[oval]], (214, 170, 140), lineType=cv2.LINE_AA)
    for name, colour in (("left_eyebrow", (90, 60, 40)), ("right_eyebrow", (90, 60, 40))):
        for a, b in mesh[name]:
            cv2.line(img, tuple(xy[a]), tuple(xy[b]), colour, 4, cv2.LINE_AA)
    for ring in ((263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
                 (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)):
        cv2.fillPoly(img, [xy[list(ring)]], (245, 245, 240), lineType=cv2.LINE_AA)
    for c in (468, 473):
        cv2.circle(img, tuple(xy[c]), 6, (60, 45, 35), -1, cv2.LINE_AA)
    lips = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
    cv2.fillPoly(img, [xy[lips]], (180, 90, 90), lineType=cv2.LINE_AA)
    return img


def real_face() -> tuple[np.ndarray, np.ndarray] | None:
    """A recorded face and its video frame: tests/data's stream + $COACH_TEST_MEDIA's clip."""
    from coach.core.frames import load_stream
    stream = Path(__file__).resolve().parent.parent / "tests" / "data" / "single_face.landmarks.npz"
    clip = Path(os.environ.get("COACH_TEST_MEDIA", "/nonexistent")) / "single_face.mp4"
    if not (stream.exists() and clip.exists()):
        return None
    _, frames = load_stream(stream)
    cap = cv2.VideoCapture(str(clip))
    for _ in range(REAL_INDEX + 1):
        ok, bgr = cap.read()
    cap.release()
    if not ok or frames[REAL_INDEX].points is None:
        return None
    return frames[REAL_INDEX].points, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


REAL_INDEX = 45   # a smiling frame of single_face.mp4


def close_eye(points: np.ndarray, side: str, amount: float) -> np.ndarray:
    from coach.core import face
    pts = points.copy()
    for up, lo in face.EYE_LIDS[side]:
        pts[up, 1] += amount * (pts[lo, 1] - pts[up, 1])
    return pts


def scenarios(real: bool = True) -> dict[str, tuple[FeedbackView, np.ndarray | None]]:
    pair = real_face() if real else None
    if pair:
        calm, frame = pair
        synk, synk_frame = close_eye(calm, "left", 0.5), frame
    else:
        calm, synk = demo_face(0.2), demo_face(0.9, (0.7, 0.0))
        frame, synk_frame = camera_frame(calm), camera_frame(synk)
    meters = (Meter("Smile – left", "left", "prime", 0.55), Meter("Eye – left", "left", "watch", 0.2, 0.5),
              Meter("Smile – right", "right", "prime", 0.7), Meter("Eye – right", "right", "watch", 0.1, 0.5))
    alert = (Meter("Smile – left", "left", "prime", 1.05), Meter("Eye – left", "left", "watch", 0.8, 0.5, True),
             Meter("Smile – right", "right", "prime", 1.1), Meter("Eye – right", "right", "watch", 0.15, 0.5))
    move = FeedbackView("move", "Gentle smile", "Smile slowly, lips closed. Keep your eyes soft and open.",
                        meters, rep=1, reps_total=5, points=calm, t=12.0)
    hold = FeedbackView("hold", "Gentle smile", "Hold the smile.", alert, rep=1, reps_total=5,
                        hold_fraction=0.6, countdown_s=2.2, banner="Keep your left eye open as you smile",
                        highlight=(("eye", "left"),), points=synk, t=14.0)
    summary = FeedbackView("summary", "Well done today", "Here is how it went.", summary=(
        ("Exercises", "3 of 3"), ("Repetitions", "15"), ("Smiles that reached the goal", "12 of 15"),
        ("Eye closed during a smile", "4 times (was 7)"), ("Time", "11 min")), t=600.0)
    return {"move": (move, frame), "banner": (hold, synk_frame), "summary": (summary, None)}


def bench(frames: int, camera: tuple[int, int]) -> None:
    disp = PygameDisplay(mute=True)
    scen = scenarios()
    for name in ("move", "banner"):
        view, frame = scen[name]
        if camera != (frame.shape[1], frame.shape[0]):
            frame = cv2.resize(frame, camera)
        for mode in VIEWS:
            disp.set_view(mode)
            times = []
            for i in range(frames):
                t0 = time.perf_counter()
                disp.draw(view, frame)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            p95 = times[int(0.95 * (len(times) - 1))]
            print(f"{name:7s} {mode:7s} camera {camera[0]}x{camera[1]}: "
                  f"median {statistics.median(times):5.2f} ms  p95 {p95:5.2f} ms  ({frames} frames)")
    disp.close()


def shots(folder: Path) -> None:
    disp = PygameDisplay(mute=True)
    scen = scenarios()
    for name in ("move", "banner"):
        view, frame = scen[name]
        for mode in VIEWS:
            disp.set_view(mode)
            disp.draw(view, frame)
            disp.screenshot(folder / f"{mode}_{name}.png")
    disp.set_view("mesh")
    for name, view in extra_screens().items():
        disp.draw(view, None)
        disp.screenshot(folder / f"screen_{name}.png")
    disp.draw(scen["summary"][0], None)
    disp.screenshot(folder / "screen_summary.png")
    disp.close()
    print(f"screenshots in {folder}")


def extra_screens() -> dict[str, FeedbackView]:
    return {
        "welcome": FeedbackView("welcome", "", "Sit comfortably, about an arm's length from the screen, "
                                "with your face well lit. Press Space or S to begin."),
        "rest": FeedbackView("rest", "", "Let your face go soft. Breathe out slowly.", countdown_s=8.4),
        "paused": FeedbackView("paused", "", "Press P or Space to carry on."),
        "camera_lost": FeedbackView("camera_lost", "", "Check the camera is plugged in and not covered."),
        "confirm_quit": FeedbackView("confirm_quit", "", "Your progress so far is saved."),
        "kiosk_pin": FeedbackView("kiosk_pin", "Enter your code", "Type the 4-digit code from your clinic."),
        "cue": FeedbackView("move", "Gentle smile", "One done. Relax, then smile again.",
                            (Meter("Smile", "", "prime", 0.2),), rep=2, reps_total=5, cue="rep_done",
                            points=demo_face(0.0)),
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--camera", default="1280x720", help="camera frame size WxH (resized to this)")
    ap.add_argument("--shots", type=Path, help="save screenshots here instead of timing")
    args = ap.parse_args(argv[1:])
    if args.shots:
        shots(args.shots)
    else:
        w, h = (int(v) for v in args.camera.lower().split("x"))
        bench(args.frames, (w, h))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
