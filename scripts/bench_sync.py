"""How long the clinic store takes: `coach sync` of a kiosk's log, a sync with nothing new, and a
report read from the server against the same report from the file.

    python scripts/bench_sync.py URL [--sessions 100] [--repeat 5]

URL: an empty PostgreSQL database (e.g. the one scripts/clinic_demo.sh starts, with a fresh
`createdb`); its coach tables are emptied between runs. Prints medians and every run (this machine is
shared and noisy: compare ratios within one run, not absolute times across runs).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_clinic_data import make_log  # noqa: E402  (a script beside this one)

from coach.clinic import store as pg  # noqa: E402
from coach.log.schema import SHARED_TABLES  # noqa: E402
from coach.log.store import Store  # noqa: E402
from coach.clinic.sync import sync  # noqa: E402
from coach.report.build import build_report  # noqa: E402


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def empty_server(url: str, log: Path) -> None:
    """Empty the server's coach tables and the log's ledger, so the next sync sends everything."""
    with pg.connect(url) as conn:
        pg.ensure_schema(conn, pg.where(pg.parse(url)))      # a fresh database has no tables yet
        conn.execute("TRUNCATE " + ", ".join(t for t, _, _ in SHARED_TABLES))
    with Store.open(log) as store:
        store.db.execute("DELETE FROM synced")


def report_from(url: str | None, log: Path) -> str:
    if url is None:
        with Store.open(log, readonly=True) as store:
            return build_report(store, "P017", today=date.today())
    with pg.mirror(url, "P017") as copy, Store.open(copy, readonly=True) as store:
        return build_report(store, "P017", today=date.today())


def line(name: str, runs: list[float]) -> str:
    return f"{name:<34} median {statistics.median(runs):6.2f} s   runs " + " ".join(f"{r:.2f}" for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "kiosk.db"
        make_log(str(log), "kiosk", range(args.sessions, 0, -1), seed=3, registered=args.sessions + 1)
        full, again, server, local = [], [], [], []
        for _ in range(args.repeat):
            empty_server(args.url, log)
            sent = []
            full.append(timed(lambda: sent.append(sync(log, args.url))))
            assert sent[0].tables["sessions"][0] == args.sessions, "the sync did not send everything"
            again.append(timed(lambda: sync(log, args.url)))
            server.append(timed(lambda: report_from(args.url, log)))
            local.append(timed(lambda: report_from(None, log)))
        assert report_from(args.url, log) == report_from(None, log), "the two reports differ"
        with Store.open(log, readonly=True) as store:
            reps = len(store.rep_rows("P017"))
    print(f"{args.sessions} sessions ({reps} reps), {args.repeat} runs")
    print(line("coach sync, everything", full))
    print(line("coach sync, nothing new", again))
    print(line("report from the server", server))
    print(line("report from the file", local))
    print(f"server report / file report: {statistics.median(server) / statistics.median(local):.2f}x "
          "(the same bytes)")


if __name__ == "__main__":
    main()
