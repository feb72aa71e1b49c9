"""Progress bars for long work (analyze, eval, report, model download): one library, one look.

tqdm, on stderr, so stdout stays the command's answer (a summary, or JSON with `--json -`).
Silent when stderr is not a terminal (logs, pipes, CI, tests) and for work shorter than
`DELAY_S`, so quick commands print nothing extra.
"""
from __future__ import annotations

import sys
from typing import Callable

DELAY_S = 1.0          # work that ends sooner shows no bar at all


def bar(desc: str, total: int | None = None, unit: str = "it", *, scale: bool = False, stream=None,
        delay_s: float = DELAY_S, quiet: bool = False):
    """A tqdm bar (a context manager with `update(n)` and a settable `total`); `quiet`: none at all."""
    from tqdm import tqdm

    stream = stream or sys.stderr
    quiet = quiet or not (hasattr(stream, "isatty") and stream.isatty())
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=scale, unit_divisor=1024 if scale else 1000,
                file=stream, disable=quiet, delay=delay_s, leave=False, dynamic_ncols=True)


def as_counter(progress) -> Callable[[int, int], None]:
    """`progress(done, total)` callbacks (the eval loaders') drawn on a bar."""
    def report(done: int, total: int) -> None:
        if progress.total != total:
            progress.total = total
        progress.update(done - progress.n)
    return report
