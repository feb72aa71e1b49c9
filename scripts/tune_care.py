"""Choose the wearing-off test's parameters on simulated logs that the test does not report.

    python scripts/tune_care.py [--n 200] [--seed 1000]

Simulates N patients with a rise from week 12 and N without (seeds from --seed on; the slow test
tests/test_care.py::test_the_wearing_off_test_on_simulated_logs reports seeds 0–399), and for a
grid of (sd_floor, k, h) prints: flagged within 3 weeks of the rise's start, flagged at all
without a rise. The defaults in coach.core.care.CUSUM are the row chosen here.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coach.core import care  # noqa: E402
from coach.eval import care_sim  # noqa: E402


def rates(rising, flat, params) -> tuple[float, float]:
    """(share of `rising` flagged within 3 weeks of the rise's start, share of `flat` flagged at all)."""
    hit = sum(care_sim.in_time(p, care_sim.first_flag(p, params=params)) for p in rising)
    false = sum(care_sim.first_flag(p, params=params) is not None for p in flat)
    return hit / len(rising), false / len(flat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1000)
    args = ap.parse_args()
    rising = [care_sim.with_points(care_sim.simulate(args.seed + i, rise=True)) for i in range(args.n)]
    flat = [care_sim.with_points(care_sim.simulate(args.seed + args.n + i, rise=False)) for i in range(args.n)]
    print("sd_floor  k     h    within 3 wk  no-rise flagged")
    for floor, k, h in itertools.product((0.25, 0.3, 0.35), (0.75, 0.9, 1.0), (3.5, 4.0, 4.5, 5.0)):
        params = replace(care.CUSUM, sd_floor=floor, k=k, h=h)
        hit, false = rates(rising, flat, params)
        mark = "  <- chosen (coach.core.care.CUSUM)" if params == care.CUSUM else ""
        print(f"{floor:<9} {k:<5} {h:<4} {100 * hit:5.1f} %      {100 * false:5.1f} %{mark}")


if __name__ == "__main__":
    main()
