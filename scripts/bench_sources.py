"""Decode cost per frame of VideoSource (decode + BGR→RGB), against bare cv2 decoding.

    python scripts/bench_sources.py [CLIP] [--passes N]

CLIP defaults to single_face.mp4 in $COACH_TEST_MEDIA (or /work/shared/media).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout
from coach.camera.sources import VideoSource  # noqa: E402


def bare_decode_ms(path: str) -> list[float]:
    cap = cv2.VideoCapture(path)
    out = []
    while True:
        t = time.perf_counter()
        ok, _ = cap.read()
        if not ok:
            break
        out.append((time.perf_counter() - t) * 1000)
    cap.release()
    return out


def source_ms(path: str) -> list[float]:
    # read() hands out the frame decoded ahead and decodes the next one, so each call
    # costs one decode plus the colour conversion; the first decode happens at open.
    out = []
    with VideoSource(path, realtime=False) as src:
        while True:
            t = time.perf_counter()
            if src.read() is None:
                break
            out.append((time.perf_counter() - t) * 1000)
    return out


def report(label: str, ms: list[float]) -> None:
    print(f"{label:<34} median {statistics.median(ms):6.2f} ms/frame   "
          f"p95 {float(np.percentile(ms, 95)):6.2f} ms   ({len(ms)} frames)")


def main() -> None:
    root = os.environ.get("COACH_TEST_MEDIA", "/work/shared/media")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("clip", nargs="?", default=os.path.join(root, "single_face.mp4"))
    ap.add_argument("--passes", type=int, default=10)
    args = ap.parse_args()
    cap = cv2.VideoCapture(args.clip)
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps, n = cap.get(cv2.CAP_PROP_FPS), int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    print(f"{os.path.basename(args.clip)}: {n} frames, {w}x{h} @ {fps:g} fps; "
          f"{args.passes} passes, cv2 {cv2.__version__}, {cv2.getNumThreads()} threads")
    source_ms(args.clip)  # warm up caches and codec
    bare, src = [], []
    for _ in range(args.passes):
        bare += bare_decode_ms(args.clip)
        src += source_ms(args.clip)
    report("cv2.VideoCapture.read (BGR)", bare)
    report("VideoSource.read (RGB, fast)", src)
    print(f"budget at {fps:g} fps: {1000 / fps:.1f} ms/frame")


if __name__ == "__main__":
    main()
