"""Make the README's pictures of the patient's screens (docs/patient/*.png) from headless runs.

    python scripts/make_screens.py [OUT_DIR] [--full DIR]

Two headless runs (SDL's dummy video and disk audio drivers; no camera, no model):
1. `coach demo` on the shipped recording: the welcome, the instructions with the
   animated demonstration, the hold and the "Careful" banner with its fix.
2. A scripted three-exercise session on the same calm face, moved by
   `coach.core.demonstration.performed`: a movement too big ("gentler"), one side
   behind ("match the sides"), the summary of all three exercises, and "Your
   progress" over an example fortnight.
3. Snapshots of a smile's hold on the same face: the "Careful" banner on the chin and on the
   neck, and the hint while the neck can't be judged.
Each picture is scaled to WIDTH pixels and saved as a small palette PNG.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WIDTH = 480
COLOURS = 48            # palette size: the screens are flat colours and text

# picture name -> (run, screen key) of the screenshot it is made from
PICTURES = {
    "welcome.png": ("demo", "welcome"),
    "instructions.png": ("demo", "instruct"),
    "hold.png": ("demo", "hold"),
    "careful.png": ("demo", "synkinesis"),
    "gentler.png": ("script", "prompt-less"),
    "match-the-sides.png": ("script", "prompt-even"),
    "summary.png": ("script", "summary"),
    "progress.png": ("script", "progress"),
    "careful-chin.png": ("views", "chin"),
    "careful-neck.png": ("views", "neck"),
    "neck-hint.png": ("views", "neck-hint"),
}
# The chin and neck screens (issue 21), drawn from snapshots of the calm face in the open-mouth smile,
# which watches both: an alert on the chin, one on the neck, and the hint while the neck can't be
# judged. (key, region alerted or "", neck states, whether the neck hint shows)
VIEWS = [("chin", "chin", (("left", "not seen"), ("right", "not seen")), ""),
         ("neck", "neck", (("left", "seen"), ("right", "not seen")), ""),
         ("neck-hint", "", (("left", "can't tell"), ("right", "can't tell")), "hint")]

def demo_shots(folder: Path) -> dict[str, Path]:
    from coach.app import run_demo
    from coach.core.exercises import load_library

    run_demo(load_library()[0], headless=True, shots=folder, log=False)
    first: dict[str, Path] = {}
    for p in sorted((folder / "screens").glob("*.png")):          # "007-hold.png": the first of each
        first.setdefault(p.stem.split("-", 1)[1], p)
    return first


def calm_face():
    from coach.core.frames import load_stream
    from coach.resources import builtin_dir

    _, frames = load_stream(builtin_dir("data") / "demo.landmarks.npz")
    return next(f for f in frames if f.has_face)


def scripted_frames(plan, calm):
    """Smile (one rep too big), eye closure (the left side behind), brow lift: 2 reps each."""
    from coach.core.demonstration import performed
    from coach.core.frames import LandmarkFrame

    parts = [performed(calm, plan[0], [7.0, 16.0], 26.0, size=1.0),
             performed(calm, plan[1], [4.0, 13.0], 22.0, sides=(0.35, 1.0)),
             performed(calm, plan[2], [4.0, 13.0], 22.0)]
    big = performed(calm, plan[0], [7.0], 16.0, size=1.9)        # the first smile: far too big
    parts[0] = big + parts[0][len(big):]
    frames, t0 = [], 0.0
    for part in parts:
        for f in part:
            frames.append(LandmarkFrame(t0 + f.t, f.width, f.height, f.points, index=len(frames)))
        t0 += part[-1].t + 1 / 30
    return frames


def example_history(today: date):
    """An example fortnight: practice on most days, getting cleaner and more even."""
    from coach.core.practice import History

    rows = []
    for ago in range(13, 0, -1):
        if ago in (10, 6, 5):
            continue
        day = today - timedelta(days=ago)
        for ex in ("gentle-smile", "gentle-eye-closure", "brow-lift"):
            for i in range(5):
                clean = i < 5 - (ago // 4) - 1
                even = 0.6 + 0.35 * (13 - ago) / 13
                rows.append({"exercise": ex, "session_started": f"{day.isoformat()}T10:00:00", "complete": 1,
                             "synkinesis": 0 if clean else 1, "peak": 1.0, "peak_left": even * 0.2,
                             "peak_right": 0.2})
    return History(rows, today)


class _Grabber:
    """Wraps a display: saves the first screen of each kind the README shows (the summary once its
    "Session done" flash has gone). Time is the session's: a cue's flash lasts FLASH_S of it."""

    def __init__(self, display, folder: Path):
        self.d, self.folder, self.saved, self.t = display, folder, {}, 0.0
        self._summary_t: float | None = None

    def __getattr__(self, name):
        return getattr(self.d, name)

    def draw(self, view, rgb=None):
        self.t = view.t
        self.d.draw(view, rgb)
        key = view.screen
        if view.prompt_kind and view.screen in ("move", "hold"):
            key = f"prompt-{view.prompt_kind}"
        if key == "summary":
            self._summary_t = view.t if self._summary_t is None else self._summary_t
            if view.t - self._summary_t < 2.0:
                return
        if key not in self.saved:
            self.saved[key] = self.folder / f"{key}.png"
            self.d.screenshot(self.saved[key])


def script_shots(folder: Path) -> dict[str, Path]:
    from coach.app import HomeDriver, run_loop
    from coach.core.exercises import load_library
    from coach.core.session import INSTRUCT_S, Session
    from coach.screen.display import PygameDisplay

    library = load_library()[0]
    plan = [library[i].with_overrides(reps=2, rest_s=2.0) for i in ("gentle-smile", "gentle-eye-closure",
                                                                    "brow-lift")]
    frames = scripted_frames(plan, calm_face())
    session = Session(plan, welcome_s=1.0, ready_s=INSTRUCT_S, history=example_history(date.today()),
                      prefs={"view": "meters"})
    display = _Grabber(None, folder)
    display.d = PygameDisplay(mute=True, clock=lambda: display.t)
    end = frames[-1].t
    events = [(end + 3.0, "action", "progress"), (end + 4.0, "action", "back")]
    try:
        run_loop(_List(frames), HomeDriver(session, summary_s=6.0), display, clock=None, events=events)
    finally:
        display.d.close()
    return display.saved


def view_shots(folder: Path) -> dict[str, Path]:
    """The chin and neck screens: a snapshot (`Moment`) of a smile's hold on the calm face, composed by
    `coach.core.screens.compose` and drawn by the display in the mesh view, as a session draws it."""
    from coach.core.exercises import load_library
    from coach.core.feedback import Meter
    from coach.core.moment import Moment, Place
    from coach.core.neck import NECK_HINT
    from coach.core.screens import compose
    from coach.screen.display import PygameDisplay

    smile = load_library()[0]["open-mouth-smile"]
    calm = calm_face()
    display = PygameDisplay(mute=True, view="mesh")
    saved = {}
    try:
        for key, region, neck, hint in VIEWS:
            watch = next((w for w in smile.watches if w.region == region), None)
            meters = [Meter(smile.prime.label, s, "prime", v, 1.0) for s, v in (("left", 0.9), ("right", 0.8))]
            for w in smile.watches:
                alert = w is watch
                meters += [Meter(w.label, s, "watch", 0.8 if alert and s == "left" else 0.2, 0.5, alert and s == "left")
                           for s in ("left", "right")]
            m = Moment(t=20.0, state="hold", status="in-progress", pause_reason="", exercise=smile,
                       place=Place(1, 1, 2, 5), ticks=0, countdown_s=None, hold_fraction=0.6,
                       banner=(watch.correction, ((region, "left"),)) if watch else None, meters=tuple(meters),
                       prompt=None, pose_hint="", calibrate_hint="", points=calm.points, neck=neck,
                       neck_hint=NECK_HINT if hint else "")
            display.renderer.avatar.frame_size = (calm.width, calm.height)
            display.draw(compose(m, None))
            saved[key] = folder / f"{key}.png"
            display.screenshot(saved[key])
    finally:
        display.close()
    return saved


class _List:
    name, fps = "script", 30.0

    def __init__(self, items):
        self.items, self.i = items, 0

    def read(self):
        self.i += 1
        return self.items[self.i - 1] if self.i <= len(self.items) else None

    def close(self):
        pass


def shrink(src: Path, dst: Path) -> None:
    from PIL import Image

    img = Image.open(src).convert("RGB")
    img = img.resize((WIDTH, round(img.height * WIDTH / img.width)), Image.LANCZOS)
    img.quantize(COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(dst, optimize=True)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path, default=ROOT / "docs" / "patient")
    ap.add_argument("--full", type=Path, help="also keep the full-size screenshots here")
    args = ap.parse_args(argv[1:])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        from coach.screen.headless import headless_env
        headless_env(tmp)
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        shots = {"demo": demo_shots(tmp / "demo"), "script": script_shots(_made(tmp / "script")),
                 "views": view_shots(_made(tmp / "views"))}
        args.out.mkdir(parents=True, exist_ok=True)
        for name, (run, key) in PICTURES.items():
            src = shots[run].get(key)
            if src is None:
                print(f"no {key} screen in the {run} run", file=sys.stderr)
                return 1
            shrink(src, args.out / name)
            if args.full:
                _made(args.full)
                shutil.copy(src, args.full / name)
            print(f"{args.out / name}  {(args.out / name).stat().st_size // 1024} KB")
    return 0


def _made(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


if __name__ == "__main__":
    sys.exit(main(sys.argv))
