"""Per-frame cost of session logging, and the size of a 30-minute session.

Simulates the live coach at 30 fps: every frame calls `add_sample` with every
relative measure of both sides (as coach.app does) plus one spare value; a rep is committed every 5 s
and an event every 20 s (each its own fsync'd transaction). Prints the median
and p99 of the per-frame cost (rep/event writes amortised over the frames
between them) and the database size.

    python scripts/bench_store.py [--minutes 30] [--fps 30] [--db PATH]
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from coach.core.events import Rep  # noqa: E402
from coach.log.store import Store  # noqa: E402

try:  # what the live coach logs per frame: every relative measure on both sides
    from coach.core.calibration import REL as MEASURES  # noqa: E402
except ImportError:
    MEASURES = ("eye_opening", "brow_height", "commissure_excursion", "commissure_elevation",
                "upper_lip_elevation", "mouth_width", "mouth_open")
TARGET_MEDIAN_MS = 0.2
TARGET_SIZE_MB = 5.0


def db_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def run(path: Path, minutes: float, fps: float) -> dict:
    store = Store.open(path)
    store.add_patient("BENCH", "Bench", "left")
    sid = store.start_session("BENCH", source="bench", kind="demo")
    store.add_calibration(sid, {m: [0.3, 0.3] for m in MEASURES})
    exercises = ("brow-lift", "gentle-eye-closure", "open-mouth-smile", "snarl", "lip-pucker")
    n_frames = int(minutes * 60 * fps)
    frames_per_set = n_frames // len(exercises)
    rep_every, event_every = int(5 * fps), int(20 * fps)
    sample_costs = []
    write_s = 0.0   # rep, event and set writes: spread evenly over all frames
    set_id = None
    for i in range(n_frames):
        t = i / fps
        ex = exercises[min(i // frames_per_set, len(exercises) - 1)]
        if i % frames_per_set == 0 and i // frames_per_set < len(exercises):
            t0 = time.perf_counter()
            if set_id:
                store.end_set(set_id)
            set_id = store.start_set(sid, ex, 10)
            write_s += time.perf_counter() - t0
        values = {f"{m}_{side}": round(0.3 + 0.05 * math.sin(t + k), 4)
                  for k, m in enumerate(MEASURES) for side in ("left", "right")}
        values["level"] = round(0.5 + 0.5 * math.sin(t), 4)   # one spare value: errs on the large side
        t0 = time.perf_counter()
        store.add_sample(sid, t, ex, values)   # includes the occasional timed flush
        sample_costs.append(time.perf_counter() - t0)
        if i % rep_every == rep_every - 1:
            t0 = time.perf_counter()
            rep = Rep(i // rep_every, t - 4, t - 2, t, 0.9, {"left": 0.2, "right": 0.4},
                      1.5, 1.0, 0.9, -0.12, True)
            store.add_rep(sid, set_id, rep.to_dict())   # also flushes buffered samples
            if i % event_every == event_every - 1:
                store.add_event(sid, set_id, "synkinesis", "left", "eye_opening", t - 3, t - 1, -0.12)
            write_s += time.perf_counter() - t0
    amortised = write_s / n_frames
    costs = [c + amortised for c in sample_costs]
    store.end_set(set_id)
    store.end_session(sid)
    store.close()
    costs_ms = sorted(c * 1000 for c in costs)
    return {"frames": n_frames, "sample_median_ms": statistics.median(sample_costs) * 1000,
            "amortised_ms": amortised * 1000,
            "median_ms": statistics.median(costs_ms),
            "p99_ms": costs_ms[int(0.99 * (len(costs_ms) - 1))],
            "max_ms": costs_ms[-1],
            "size_mb": db_size(path) / 1e6}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--fps", type=float, default=30)
    ap.add_argument("--db", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        if path.exists():
            os.remove(path)
        r = run(path, args.minutes, args.fps)
    print(f"{r['frames']} frames ({args.minutes:g} min at {args.fps:g} fps)")
    print(f"per-frame logging: median {r['median_ms']:.4f} ms, p99 {r['p99_ms']:.3f} ms, "
          f"max {r['max_ms']:.2f} ms (target median < {TARGET_MEDIAN_MS} ms)")
    print(f"  = add_sample median {r['sample_median_ms']:.4f} ms + rep/event/set writes "
          f"{r['amortised_ms']:.4f} ms per frame")
    print(f"database size: {r['size_mb']:.2f} MB (target < {TARGET_SIZE_MB} MB)")


if __name__ == "__main__":
    main()
