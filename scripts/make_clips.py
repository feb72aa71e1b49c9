"""Regenerate the synthetic ground-truth clips (see coach/synth.py).

    COACH_TEST_MEDIA=/path/to/media COACH_FACE_MODEL=/path/to/face_landmarker.task \
        python scripts/make_clips.py --out tests/data/generated [--measure]

Faces are read from COACH_TEST_MEDIA (never copied into the repo). Their neutral
landmarks are cached in OUT/faces.json; the model is needed only to fill that
cache (or with --redetect) and for --measure, which tracks every clip and writes
the measured table into OUT/README.md between the `measured` markers.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coach import synth  # noqa: E402

_faces: dict = {}
START, END = "<!-- measured:start -->", "<!-- measured:end -->"


def _render(args):
    clip, out = args
    t0 = time.perf_counter()
    synth.render(clip, _faces[clip.face], out)
    return clip.name, time.perf_counter() - t0


def _measure(args):
    name, out, model = args
    info = json.loads((Path(out) / f"{name}.truth.json").read_text())
    return name, info, synth.measure_clip(Path(out) / f"{name}.mp4", info, model)


def _pct(x):
    return f"{100 * x:+.0f}%"


def table(results) -> str:
    lines = ["| clip | injected | face found | eye L (hold / min) | eye R (hold / min) | mouth width | "
             "corner L | corner R |",
             "|---|---|---|---|---|---|---|---|"]
    for name, info, m in results:
        inj = info["injected"]
        parts = [f"eye {s[0].upper()} {int(100 * a)}%" for s, a in inj["eye_closure_in_step"].items()]
        parts += [f"corner {s[0].upper()} {int(100 * a)}%" for s, a in inj["corner_pull_in_step"].items()]
        if info["blinks_s"]:
            parts.append(f"{len(info['blinks_s'])} blinks")
        if info["motion"] != "none":
            parts.append(f"{info['motion']} {inj['motion_amount']}")
        lines.append(
            f"| {name} | {', '.join(parts) or '-'} | {100 * m['found']:.0f}% | "
            f"{_pct(m['eye_left'])} / {_pct(m['eye_left_min'])} | "
            f"{_pct(m['eye_right'])} / {_pct(m['eye_right_min'])} | {_pct(m['mouth_width'])} | "
            f"{100 * m['corner_left']:.0f}% | {100 * m['corner_right']:.0f}% |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/data/generated")
    ap.add_argument("--media", default=os.environ.get(synth.MEDIA_ENV))
    ap.add_argument("--model", default=None, help="face model (default: COACH_FACE_MODEL)")
    ap.add_argument("--only", default="", help="render only clips whose name contains this")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--measure", action="store_true", help="track the clips and print/write the table")
    ap.add_argument("--no-render", action="store_true", help="only measure the clips already there")
    ap.add_argument("--redetect", action="store_true", help="detect the neutral landmarks again")
    a = ap.parse_args(argv)
    if not a.media:
        ap.error(f"set {synth.MEDIA_ENV} or pass --media")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    clips = [c for c in synth.default_clips() if a.only in c.name]
    t0 = time.perf_counter()
    if not a.no_render:
        cache = out / "faces.json"
        if a.redetect and cache.exists():
            cache.unlink()
        _faces.update(synth.load_faces(a.media, sorted({c.face for c in clips}), cache, a.model))
        # fork: the workers inherit the loaded faces.
        with mp.get_context("fork").Pool(a.jobs) as pool:
            for name, dt in pool.imap_unordered(_render, [(c, out) for c in clips]):
                print(f"{name:40s} {dt:5.1f} s", flush=True)
        print(f"rendered {len(clips)} clips in {time.perf_counter() - t0:.1f} s")
        if not a.only:  # drop clips that are no longer in the set
            keep = {c.name for c in clips}
            for f in [*out.glob("*.mp4"), *out.glob("*.truth.json")]:
                if f.name.split(".")[0] not in keep:
                    f.unlink()
    if a.measure:
        t1 = time.perf_counter()
        with mp.get_context("fork").Pool(a.jobs) as pool:
            results = pool.map(_measure, [(c.name, out, a.model) for c in clips])
        text = table(results)
        print(text)
        print(f"measured in {time.perf_counter() - t1:.1f} s")
        readme = out / "README.md"
        if readme.exists() and not a.only:
            s = readme.read_text()
            if START in s and END in s:
                head, rest = s.split(START, 1)
                readme.write_text(head + START + "\n" + text + "\n" + END + rest.split(END, 1)[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
