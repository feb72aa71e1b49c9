"""Benchmark the live loop (issue "live coach"): real-time 640×480 @ 30 fps video through
tracker (with the chin and neck read from the picture) → session (the open-mouth smile, which watches
the eyes, the chin and the neck) → pygame rendering (SDL dummy driver) → store, in each view mode;
frame-arrival → drawn latency; alert-cue latency; RSS over a 10-minute replayed session.

    COACH_FACE_MODEL=../shared/models/face_landmarker.task COACH_TEST_MEDIA=../shared/media \
        python scripts/bench_live.py [--minutes 10]
"""
from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "disk")
os.environ.setdefault("SDL_DISKAUDIOFILE", os.path.join(tempfile.gettempdir(), "coach-bench-audio.raw"))
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from coach.app import HomeDriver, LoopStats, run_loop  # noqa: E402
from coach.log.recorder import SessionLog  # noqa: E402
from coach.core.exercises import load_library  # noqa: E402
from coach.core.frames import load_stream  # noqa: E402
from coach.core.session import INSTRUCT_S, Session  # noqa: E402
from coach.screen.display import PygameDisplay  # noqa: E402
from coach.camera.sources import ReplaySource, VideoSource  # noqa: E402
from coach.log.store import Store  # noqa: E402
from coach.camera.tracker import Tracker  # noqa: E402
from coach.resources import builtin_dir  # noqa: E402


def make_clip(src: Path, out: Path, seconds: float = 12.0) -> None:
    """single_face.mp4 resized to 640×480 and looped: a webcam-sized real face."""
    cap = cv2.VideoCapture(str(src))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(f, (640, 480)))
    w = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    n = int(seconds * 30)
    for i in range(n):
        k = i % (2 * len(frames) - 2)      # ping-pong: smile, relax, smile…
        w.write(frames[k if k < len(frames) else 2 * len(frames) - 2 - k])
    w.release()


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def live(clip: Path, view: str, db: Path, library) -> str:
    tracker = Tracker()
    src = VideoSource(clip, realtime=True)
    display = PygameDisplay(view=view)
    store = Store.open(db)
    # The open-mouth smile watches the eyes, the chin and the neck: every pixel reading is on.
    plan = [library["open-mouth-smile"].with_overrides(reps=50)]
    session = Session(plan, welcome_s=0.5, ready_s=INSTRUCT_S)
    stats = LoopStats()
    track_ms: list[float] = []
    real_track = tracker.track

    def timed(*a, **k):
        t0 = time.perf_counter()
        r = real_track(*a, **k)
        track_ms.append((time.perf_counter() - t0) * 1000)
        return r

    tracker.track = timed
    t0 = time.monotonic()
    try:
        run_loop(src, HomeDriver(session, SessionLog(store, None, "bench", "home"), summary_s=0.0), display,
                 tracker=tracker, stats=stats)
    finally:
        wall = time.monotonic() - t0
        dropped = src.dropped
        display.close(), src.close(), tracker.close(), store.close()
    lat = np.array(stats.latency_ms)
    beyond = lat - np.array(track_ms[: len(lat)])
    return (f"{view:6s}  drawn {stats.frames / wall:5.1f} fps  (source 30 fps; dropped {dropped})   "
            f"arrival→drawn p50 {np.median(lat):5.1f} ms p95 {np.percentile(lat, 95):5.1f} ms   "
            f"beyond tracker p95 {np.percentile(beyond, 95):5.1f} ms (frame interval 33.3 ms)   "
            f"tracker p50 {np.median(track_ms):5.1f} ms")


def alert_latency(library) -> str:
    """From the session confirming synkinesis to the cue handed to SDL's mixer."""
    stream = builtin_dir("data") / "demo.landmarks.npz"
    display = PygameDisplay(view="mesh")
    stats = LoopStats()
    session = Session([library["gentle-smile"].with_overrides(reps=3, rest_s=3.0)], welcome_s=3.0,
                      ready_s=INSTRUCT_S)
    run_loop(ReplaySource(stream), HomeDriver(session, summary_s=0.0), display, stats=stats)
    display.close()
    return f"alert cue: draw+play call returns {np.median(stats.alert_ms):.2f} ms after the event (n={len(stats.alert_ms)}); mixer buffer 256 samples = 5.8 ms"


def memory(library, minutes: float) -> str:
    """A long replayed session (the demo recording looped) through the whole loop, logged."""
    info, frames = load_stream(builtin_dir("data") / "demo.landmarks.npz")
    n = int(minutes * 60 * 30)
    dur = frames[-1].t + 1 / 30

    class Looped:
        name, fps = "loop", 30.0

        def __init__(self):
            self.i = 0

        def read(self):
            if self.i >= n:
                return None
            f = frames[self.i % len(frames)]
            self.i += 1
            return type(f)(f.t + dur * (self.i // len(frames)), f.width, f.height, f.points, f.blendshapes,
                           f.matrix, self.i)

        def close(self):
            pass

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "m.db")
        display = PygameDisplay(view="mesh")
        session = Session([library["gentle-smile"].with_overrides(reps=10_000, rest_s=3.0)], welcome_s=3.0,
                          ready_s=INSTRUCT_S)
        samples = []
        src = Looped()

        def probe():
            if src.i % 1800 == 0:
                samples.append(rss_mb())
            return False

        run_loop(src, HomeDriver(session, SessionLog(store, None, "loop", "home"), summary_s=0.0), display,
                 should_stop=probe)
        display.close()
        store.close()
    warm = samples[1] if len(samples) > 1 else samples[0]
    return (f"memory: {minutes:g} min replayed session ({n} frames): RSS {warm:.0f} MB after 1 min → "
            f"{samples[-1]:.0f} MB at the end (growth {samples[-1] - warm:+.1f} MB)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=12.0, help="length of the live clip")
    args = ap.parse_args()
    library, _ = load_library()
    media = Path(os.environ["COACH_TEST_MEDIA"])
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "face640x480.mp4"
        make_clip(media / "single_face.mp4", clip, args.seconds)
        print(f"live loop, {args.seconds:g} s of 640×480 @ 30 fps video played in real time, rendering included:")
        for view in ("mirror", "mesh", "meters"):
            print("  " + live(clip, view, Path(tmp) / f"{view}.db", library))
    print(alert_latency(library))
    print(memory(library, args.minutes))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
