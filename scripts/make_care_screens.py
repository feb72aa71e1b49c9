"""Make the README's pictures of the care calendar (docs/care/*.png) from headless runs.

    python scripts/make_care_screens.py [OUT_DIR]

Two simulated patients (coach.eval.care_sim) in a temporary coach database, each with a botulinum
toxin injection on 6 Jan 2025 and a plan that practises Mon-Fri at 18:00:
1. In week 10 after the injection, without a rise: the welcome screen's note (the review date and
   the days practised) and "Your progress" with the injection's timeline (SDL's dummy video driver).
2. In week 15, with co-movement rising since week 12: the top of `coach report` (Chromium, headless),
   which opens with what `coach due` lists for the patient.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WIDTH = 640
CARE = {"review_weeks": 12, "practice": "Mon-Fri 18:00"}


def database(path: Path):
    from coach.eval import care_sim
    from coach.log.store import Store

    store = Store.open(path)
    store.db.execute("PRAGMA synchronous = OFF")
    care_sim.write(store, [care_sim.simulate(3, rise=False), care_sim.simulate(0, rise=True)])
    for code in ("S0003", "S0000"):
        store.set_plan(code, [{"exercise": "gentle-smile", "care": CARE}, {"exercise": "lip-pucker"}])
    return store


def screens(store, folder: Path, today: date) -> dict[str, Path]:
    from coach.core.exercises import load_library
    from coach.core.plan import resolve_plan
    from coach.core.screens import compose
    from coach.core.session import Session
    from coach.log.preferences import history
    from coach.screen.display import PygameDisplay

    library = load_library()[0]
    session = Session(resolve_plan(library, store.get_plan("S0003")), history=history(store, "S0003", today))
    display = PygameDisplay(mute=True, clock=lambda: 0.0)
    out = {}
    try:
        for state, name in (("welcome", "welcome-note.png"), ("progress", "progress-timeline.png")):
            session.state = state
            display.draw(compose(session, 0.0, None))
            out[name] = folder / name
            display.screenshot(out[name])
    finally:
        display.close()
    return out


def report_top(store, folder: Path, today: date) -> Path:
    from coach.report.build import build_report

    html = folder / "report.html"
    html.write_text(build_report(store, "S0000", today=today))
    shot = folder / "report-due.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1000,420", f"--screenshot={shot}", html.as_uri()],
                   check=True, capture_output=True, timeout=120)
    return shot


def shrink(src: Path, dst: Path) -> None:
    from PIL import Image

    img = Image.open(src).convert("RGB")
    img = img.resize((WIDTH, round(img.height * WIDTH / img.width)), Image.LANCZOS)
    img.quantize(64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(dst, optimize=True)


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "care"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        from coach.screen.headless import headless_env
        headless_env(tmp)
        store = database(tmp / "care.db")
        try:
            shots = screens(store, tmp, date(2025, 3, 17))
            shots["report-due.png"] = report_top(store, tmp, date(2025, 4, 22))
        finally:
            store.close()
        for name, src in shots.items():
            shrink(src, out / name)
            print(f"{out / name}  {(out / name).stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
