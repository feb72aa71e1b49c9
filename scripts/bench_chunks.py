"""How long `coach.clinic.merge.chunks` takes to cut a sync's outbox into parts, by its size.

    python scripts/bench_chunks.py [--sessions 2000 4000 8000 16000] [--repeat 5]

Each batch is made in memory, shaped like a kiosk's outbox (per session: a calibration, 2 sets, 6 reps
with their evenness, 2 events; 40 sessions a patient), and cut into the parts `coach sync` sends
(20 sessions each). Prints, per size, the median of `--repeat` runs, every run, and the time per
1,000 sessions (flat when chunking is linear). This machine is shared and noisy: compare ratios
within one run of the script, not absolute times across runs. Each run starts after a garbage
collection, so one run's leftovers are not charged to the next.
"""
from __future__ import annotations

import argparse
import gc
import statistics
import time
import uuid

from coach.clinic.merge import chunks


def outbox(n_sessions: int) -> dict:
    """A batch of `n_sessions` ended sessions with their children, as `merge.collect` gives one."""
    batch: dict = {t: [] for t in ("patients", "plans", "treatments", "sessions", "audit", "calibrations",
                                   "sets", "reps", "events", "rep_evenness")}
    pid = None
    for i in range(n_sessions):
        if i % 40 == 0:
            pid = str(uuid.uuid4())
            batch["patients"].append({"id": pid, "code": f"P{i // 40:04d}"})
        sid = str(uuid.uuid4())
        batch["sessions"].append({"id": sid, "patient_id": pid, "status": "completed"})
        batch["calibrations"].append({"id": str(uuid.uuid4()), "session_id": sid})
        for _ in range(2):
            set_id = str(uuid.uuid4())
            batch["sets"].append({"id": set_id, "session_id": sid})
            for k in range(3):
                rid = str(uuid.uuid4())
                batch["reps"].append({"id": rid, "session_id": sid, "set_id": set_id, "idx": k})
                batch["rep_evenness"].append({"rep_id": rid})
            batch["events"].append({"id": str(uuid.uuid4()), "session_id": sid, "set_id": set_id})
    return batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[2000, 4000, 8000, 16000])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    first = None
    print(f"{'sessions':>8}  {'parts':>5}  {'median':>8}  {'per 1,000':>9}  runs")
    for n in args.sessions:
        batch = outbox(n)
        runs = []
        for _ in range(args.repeat):
            gc.collect()                  # every run starts from a collected heap
            t0 = time.perf_counter()
            parts = list(chunks(batch))
            runs.append(time.perf_counter() - t0)
        median = statistics.median(runs)
        first = first or median / n
        print(f"{n:>8}  {len(parts):>5}  {median:7.3f}s  {1000 * median / n:8.4f}s  "
              + " ".join(f"{r:.3f}" for r in runs))
    print(f"time per session, largest over smallest: {median / n / first:.2f}x (1.00x = linear)")


if __name__ == "__main__":
    main()
