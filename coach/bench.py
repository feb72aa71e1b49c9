"""`coach bench CLIP`: where the time goes, per stage, and against bare MediaPipe.

Stages are timed separately (decode, tracker, measures + detector), then the
whole analyze pipeline end to end, then MediaPipe's own `detect_for_video` on
the same decoded frames. Medians over `repeat` passes; the ratio is from one run
on one machine, which is what a shared, noisy machine can honestly give.
"""
from __future__ import annotations

import resource
import time

import numpy as np

from coach.core.calibration import fit_baseline, relative
from coach.core.detector import Detector
from coach.core.exercises import Exercise
from coach.core.measures import measure
from coach.core.quality import QualityGate


def _stats(ms: list[float]) -> str:
    a = np.array(ms)
    return f"median {np.median(a):7.3f} ms  p95 {np.percentile(a, 95):7.3f} ms  ({1000 / np.median(a):7.1f} fps)"


def run_bench(clip: str, exercise: Exercise, repeat: int = 3, model: str | None = None) -> str:
    from coach.analysis import track_video
    from coach.core.pipeline import analyze
    from coach.io.sources import VideoSource
    from coach.io.tracker import Tracker

    lines = [f"coach bench {clip}  ({repeat} passes)"]
    decode_ms, rgbs = [], []
    for _ in range(repeat):
        src = VideoSource(clip, realtime=False)
        rgbs = []
        while True:
            t0 = time.perf_counter()
            vf = src.read()
            if vf is None:
                break
            decode_ms.append((time.perf_counter() - t0) * 1000)
            rgbs.append(vf)
        src.close()
    n = len(rgbs)
    with Tracker(model) as tracker:
        track_ms, frames = [], []
        for _ in range(repeat):
            tracker.new_clip()
            frames = []
            for vf in rgbs:
                t0 = time.perf_counter()
                frames.append(tracker.track(vf.rgb, vf.t, vf.index))
                track_ms.append((time.perf_counter() - t0) * 1000)
        # Bare MediaPipe on the very same frames, through the same landmarker, interleaved
        # with full runs so that drift on a shared machine hits both alike.
        bare_s, full_s = [], []
        for _ in range(repeat):
            tracker.new_clip()
            t0 = time.perf_counter()
            for vf in rgbs:
                tracker.detect_raw(vf.rgb)
            bare_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _, tracked = track_video(clip, tracker=tracker)
            analyze(tracked, exercise)
            full_s.append(time.perf_counter() - t0)
    face = [f for f in frames if f.has_face]
    meas_ms, det_ms = [], []
    for _ in range(repeat):
        ms = [measure(f) for f in face[:10]]
        base = fit_baseline(ms) if len(ms) >= 5 else None
        det = Detector(exercise, noise=base.noise if base else None)
        gate = QualityGate(base.pose[1] if base else 0.0)
        for f in frames:
            t0 = time.perf_counter()
            m = measure(f)
            t1 = time.perf_counter()
            judged = gate.check(m) is None
            det.update(relative(m, base) if base else None, f.t, judged=judged)
            t2 = time.perf_counter()
            meas_ms.append((t1 - t0) * 1000)
            det_ms.append((t2 - t1) * 1000)
    both = [a + b for a, b in zip(meas_ms, det_ms)]
    bare_fps = n / float(np.median(bare_s))
    full_fps = n / float(np.median(full_s))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines += [
        f"frames             {n} ({len(face)} with a face)",
        f"decode             {_stats(decode_ms)}",
        f"tracker            {_stats(track_ms)}",
        f"measures           {_stats(meas_ms)}",
        f"detector (+ gate)  {_stats(det_ms)}",
        f"measures+detector  {_stats(both)}",
        f"bare MediaPipe     {bare_fps:7.1f} fps",
        f"full analyze       {full_fps:7.1f} fps  (decode → tracker → measures → detector)",
        f"ratio              {full_fps / bare_fps:.2f} × bare MediaPipe throughput",
        f"peak RSS           {rss_mb:.0f} MB",
    ]
    return "\n".join(lines)
