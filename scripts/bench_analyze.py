"""Whole-process speed of `coach analyze` against a bare serial MediaPipe script.

No 472-frame clip ships with the project, so this builds one: single_face.mp4
(72 frames, 640×360) played forwards, then backwards, and so on, until 472
frames, written with OpenCV to a temporary folder (deleted afterwards, never
committed). Then, alternating, `--repeat` times each:

  (a) the bare script (coach.eval.bench.BARE_SCRIPT) as `python -c`: decode with
      cv2.VideoCapture, cvtColor to RGB, mp.Image, FaceLandmarker.detect_for_video
      in VIDEO mode with strictly increasing timestamps, num_faces=1, close;
  (b) `coach analyze CLIP --exercise gentle-smile --json TMP/x.json`.

Each is timed as a whole process (interpreter start-up, imports and model loading
included). Prints the medians and the ratio bare time / analyze time: above 1.0,
analyze is faster. The machine may be shared: quote the ratio of one run.

    COACH_FACE_MODEL=../shared/models/face_landmarker.task COACH_TEST_MEDIA=../shared/media \\
        python scripts/bench_analyze.py [--repeat 5] [--frames 472]
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from coach.eval.bench import make_clip, whole_process, whole_process_lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs of each, alternating")
    ap.add_argument("--frames", type=int, default=472, help="frames in the clip built")
    ap.add_argument("--source", default=None, help="clip to build from (default: $COACH_TEST_MEDIA/single_face.mp4)")
    ap.add_argument("--model", default=None, help="face_landmarker.task (default: $COACH_FACE_MODEL or the cache)")
    args = ap.parse_args()
    source = args.source or Path(os.environ.get("COACH_TEST_MEDIA", "../shared/media")) / "single_face.mp4"
    with tempfile.TemporaryDirectory(prefix="coach-bench-analyze-") as tmp:
        clip = make_clip(source, Path(tmp) / f"ping_pong_{args.frames}.mp4", args.frames)
        print(f"clip: {Path(source).name} forwards and backwards to {args.frames} frames, "
              f"written with OpenCV to {clip} (temporary)")
        print(f"{args.repeat} runs of each, alternating; whole processes, cores: {os.cpu_count()}")
        res = whole_process(clip, "gentle-smile", args.repeat, args.model, Path(tmp) / "x.json")
    print("\n".join(whole_process_lines(res)))


if __name__ == "__main__":
    main()
