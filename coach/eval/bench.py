"""`coach bench CLIP`: where the time goes, per stage, and against bare MediaPipe.

Two views. In-process: stages timed separately (decode, tracker, measures +
detector), then the whole analyze pipeline end to end against MediaPipe's own
`detect_for_video` on the same decoded frames. Whole-process: `coach analyze`
as a subprocess against a bare serial MediaPipe script as a subprocess (both
including interpreter start-up, imports and model loading), run alternately so
that drift on a shared machine hits both alike. Medians over `repeat` passes;
a ratio is from one run on one machine, which is what a shared, noisy machine
can honestly give. `scripts/bench_analyze.py` runs the whole-process view on a
472-frame clip it builds from a short one (`make_clip`).
"""
from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from coach.core.exercises import Exercise

# The baseline a user would write: decode with OpenCV, BGR → RGB, detect_for_video in
# VIDEO mode with strictly increasing timestamps, one face, MediaPipe's default outputs.
BARE_SCRIPT = """\
import sys
import cv2
import mediapipe as mp
from mediapipe.tasks.python import BaseOptions, vision

clip, model = sys.argv[1], sys.argv[2]
options = vision.FaceLandmarkerOptions(base_options=BaseOptions(model_asset_path=model),
                                       running_mode=vision.RunningMode.VIDEO, num_faces=1)
landmarker = vision.FaceLandmarker.create_from_options(options)
cap = cv2.VideoCapture(clip)
fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
i = faces = 0
while True:
    ok, bgr = cap.read()
    if not ok:
        break
    image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    faces += bool(landmarker.detect_for_video(image, int(i * 1000 / fps)).face_landmarks)
    i += 1
cap.release()
landmarker.close()
print(i, faces)
"""


def make_clip(src: str | os.PathLike, out: str | os.PathLike, frames: int = 472) -> Path:
    """`src` played forwards, then backwards, and so on, until `frames` frames; written with OpenCV."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    clip = []
    while (got := cap.read())[0]:
        clip.append(got[1])
    cap.release()
    if not clip:
        raise ValueError(f"{src} has no readable frames")
    h, w = clip[0].shape[:2]
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    period = max(2 * len(clip) - 2, 1)
    for i in range(frames):
        k = i % period
        writer.write(clip[k if k < len(clip) else period - k])
    writer.release()
    return Path(out)


def _time_process(args: list[str]) -> float:
    env = {**os.environ, "GLOG_minloglevel": "2", "TF_CPP_MIN_LOG_LEVEL": "3"}
    t0 = time.perf_counter()
    r = subprocess.run(args, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} … failed ({r.returncode}): {r.stderr.strip()[-400:]}")
    return elapsed


def whole_process(clip: str | os.PathLike, exercise_id: str = "gentle-smile", repeat: int = 5,
                  model: str | None = None, json_out: str | os.PathLike | None = None) -> dict:
    """Bare MediaPipe script vs `coach analyze`, each a whole process, alternating `repeat` times."""
    from coach.camera import model as model_io

    model_path = str(model_io.resolve(model))
    json_out = json_out or os.path.join(os.path.dirname(os.path.abspath(clip)), "bench-analyze.json")
    bare_cmd = [sys.executable, "-c", BARE_SCRIPT, str(clip), model_path]
    coach_cmd = [sys.executable, "-m", "coach", "analyze", str(clip), "--exercise", exercise_id,
                 "--json", str(json_out), "--model", model_path]
    bare, coach = [], []
    for _ in range(repeat):
        bare.append(_time_process(bare_cmd))
        coach.append(_time_process(coach_cmd))
    b, c = statistics.median(bare), statistics.median(coach)
    return {"bare_s": bare, "analyze_s": coach, "bare_median": b, "analyze_median": c, "ratio": b / c}


def whole_process_lines(res: dict) -> list[str]:
    def runs(xs):
        return " ".join(f"{x:.2f}" for x in xs)

    return [f"bare script (process)   median {res['bare_median']:6.2f} s   runs {runs(res['bare_s'])}",
            f"coach analyze (process) median {res['analyze_median']:6.2f} s   runs {runs(res['analyze_s'])}",
            f"whole-process ratio     {res['ratio']:.2f} (bare time / analyze time; > 1 means analyze is faster)"]


def _stats(ms: list[float]) -> str:
    a = np.array(ms)
    return f"median {np.median(a):7.3f} ms  p95 {np.percentile(a, 95):7.3f} ms  ({1000 / np.median(a):7.1f} fps)"


def _decode(clip: str, repeat: int) -> tuple[list[float], list]:
    from coach.camera.sources import VideoSource

    decode_ms: list[float] = []
    frames: list = []
    for _ in range(repeat):
        src = VideoSource(clip, realtime=False)
        frames = []
        t0 = time.perf_counter()
        while (vf := src.read()) is not None:
            decode_ms.append((time.perf_counter() - t0) * 1000)
            frames.append(vf)
            t0 = time.perf_counter()
        src.close()
    return decode_ms, frames


def _track(tracker, decoded: list, repeat: int) -> tuple[list[float], list]:
    track_ms: list[float] = []
    frames: list = []
    for _ in range(repeat):
        tracker.new_clip()
        frames = []
        for vf in decoded:
            t0 = time.perf_counter()
            frames.append(tracker.track(vf.rgb, vf.t, vf.index))
            track_ms.append((time.perf_counter() - t0) * 1000)
    return track_ms, frames


def _bare_vs_full(tracker, clip: str, decoded: list, exercise: Exercise, repeat: int) -> tuple[list, list]:
    """Bare MediaPipe on the very same frames, through the same landmarker, interleaved
    with full runs so that drift on a shared machine hits both alike."""
    from coach.analysis import track_video
    from coach.core.pipeline import analyze

    bare_s, full_s = [], []
    for _ in range(repeat):
        tracker.new_clip()
        t0 = time.perf_counter()
        for vf in decoded:
            tracker.detect_raw(vf.rgb)
        bare_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _, tracked = track_video(clip, tracker=tracker)
        analyze(tracked, exercise)
        full_s.append(time.perf_counter() - t0)
    return bare_s, full_s


def _measure_detect(frames: list, exercise: Exercise, repeat: int) -> tuple[list[float], list[float]]:
    from coach.core.calibration import fit_baseline, relative
    from coach.core.detector import Detector
    from coach.core.measures import measure
    from coach.core.quality import QualityGate

    face = [f for f in frames if f.has_face]
    meas_ms, det_ms = [], []
    for _ in range(repeat):
        ms = [measure(f) for f in face[:10]]
        base = fit_baseline(ms) if len(ms) >= 5 else None
        det = Detector(exercise, noise=base.noise if base else None)
        gate = QualityGate(base.pose if base else (0.0, 0.0, 0.0))
        for f in frames:
            t0 = time.perf_counter()
            m = measure(f)
            t1 = time.perf_counter()
            judged = gate.check(m) is None
            det.update(relative(m, base) if base else None, f.t, judged=judged)
            t2 = time.perf_counter()
            meas_ms.append((t1 - t0) * 1000)
            det_ms.append((t2 - t1) * 1000)
    return meas_ms, det_ms


def run_bench(clip: str, exercise: Exercise, repeat: int = 3, model: str | None = None,
              processes: bool = True) -> str:
    from coach.camera.tracker import Tracker

    decode_ms, decoded = _decode(clip, repeat)
    with Tracker(model, extras=False) as tracker:
        track_ms, frames = _track(tracker, decoded, repeat)
        bare_s, full_s = _bare_vs_full(tracker, clip, decoded, exercise, repeat)
    meas_ms, det_ms = _measure_detect(frames, exercise, repeat)
    n = len(decoded)
    bare_fps = n / float(np.median(bare_s))
    full_fps = n / float(np.median(full_s))
    lines = [
        f"coach bench {clip}  ({repeat} passes)",
        f"frames             {n} ({sum(f.has_face for f in frames)} with a face)",
        f"decode             {_stats(decode_ms)}",
        f"tracker            {_stats(track_ms)}",
        f"measures           {_stats(meas_ms)}",
        f"detector (+ gate)  {_stats(det_ms)}",
        f"measures+detector  {_stats([a + b for a, b in zip(meas_ms, det_ms)])}",
        f"bare MediaPipe     {bare_fps:7.1f} fps  (detect_for_video alone, on the same landmarker)",
        f"full analyze       {full_fps:7.1f} fps  (decode → tracker → measures → detector, one tracker)",
        f"ratio              {full_fps / bare_fps:.2f} × bare MediaPipe throughput (in process)",
        f"peak RSS           {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
    ]
    if processes:
        import tempfile

        with tempfile.TemporaryDirectory(prefix="coach-bench-") as tmp:
            res = whole_process(clip, exercise.id, repeat, model, Path(tmp) / "analyze.json")
        lines += ["", "whole process, alternating (interpreter start-up, imports, model load included):",
                  *whole_process_lines(res)]
    return "\n".join(lines)
