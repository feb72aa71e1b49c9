"""Regenerate the synthetic ground-truth clips (see coach/eval/recipes.py and coach/eval/render.py).

    export COACH_TEST_MEDIA=/path/to/media COACH_FACE_MODEL=/path/to/face_landmarker.task
    python scripts/make_clips.py [--out tests/data/generated] [--measure]          # the committed set
    python scripts/make_clips.py --set eval --out DIR --track [--measure]          # the eval set
    python scripts/make_clips.py --set eval --out DIR --track --region chin,neck   # its chin and neck clips only

Faces are read from COACH_TEST_MEDIA and COACH_TEST_FACES (default: the folder `faces`
beside the media folder), never copied into the repo. Their neutral landmarks are cached
in OUT/faces.json (the eval set seeds its cache with the committed set's faces.json, so
shared faces keep their landmarks, and adds MediaPipe's depth for 3-D head turns); the
model is needed only to fill that cache (or with --redetect / --check-faces), for --track
and for --measure.

--track runs the tracker over each rendered clip (a fresh tracker per clip) and writes
OUT/NAME.landmarks.npz beside it (what `coach analyze` and `coach eval --landmarks` read).
--measure prints what the tracker reads in every clip (from the landmark streams where they
are up to date, else by tracking the clip); for the default set it also writes the table
into OUT/README.md between the `measured` markers, for the eval set it prints a summary
per variant instead.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.eval.faces import FACES, MEDIA_ENV, detect_landmarks, iod_px, load_faces  # noqa: E402
from coach.eval.evalset import eval_clips  # noqa: E402
from coach.eval.recipes import LOWER_VARIANTS, MOTIONS_3D, VARIANTS, default_clips  # noqa: E402
from coach.eval.render import render  # noqa: E402
from coach.eval.tracked import measure_clip, measure_points, stream_points  # noqa: E402

GENERATED = ROOT / "tests" / "data" / "generated"
SETS = {"default": default_clips, "eval": eval_clips}
STREAM = ".landmarks.npz"
_faces: dict = {}
START, END = "<!-- measured:start -->", "<!-- measured:end -->"


def _render(args):
    clip, out = args
    t0 = time.perf_counter()
    render(clip, _faces[clip.face], out)
    return clip.name, time.perf_counter() - t0


def _track(args):
    """Track one clip with a fresh tracker and write its landmark stream."""
    name, out, model = args
    from coach.analysis import load_frames
    from coach.core.frames import save_stream

    t0 = time.perf_counter()
    info, frames = load_frames(Path(out) / f"{name}.mp4", model)
    save_stream(Path(out) / f"{name}{STREAM}", frames, info)
    return name, sum(f.has_face for f in frames) / max(1, len(frames)), time.perf_counter() - t0


def _measure(args):
    name, out, model = args
    info = json.loads((Path(out) / f"{name}.truth.json").read_text())
    clip, stream = Path(out) / f"{name}.mp4", Path(out) / f"{name}{STREAM}"
    if stream.is_file() and stream.stat().st_mtime >= clip.stat().st_mtime:
        return name, info, measure_points(*stream_points(stream), info)
    return name, info, measure_clip(clip, info, model)


def _pct(x):
    return f"{100 * x:+.0f}%"


def _injected(info) -> str:
    inj = info["injected"]
    parts = []
    if inj.get("smile_scale") not in (None, 1.0):
        parts.append(f"smile {int(round(100 * inj['smile_scale']))}%")
    if inj.get("pucker_scale") not in (None, 1.0):
        parts.append(f"pucker {int(round(100 * inj['pucker_scale']))}%")
    parts += [f"eye {s[0].upper()} {int(round(100 * a))}%" for s, a in inj["eye_closure_in_step"].items()]
    parts += [f"corner {s[0].upper()} {int(round(100 * a))}%" for s, a in inj["corner_pull_in_step"].items()]
    parts += [f"chin {s[0].upper()} {int(round(100 * a))}%" for s, a in (inj.get("chin_raise_in_step") or {}).items()]
    parts += [f"neck {s[0].upper()} {int(round(100 * a))}%" for s, a in (inj.get("neck_bands_in_step") or {}).items()]
    parts += [k for k in ("talk", "swallow", "dark_neck") if inj.get(k)]
    if info.get("cover"):
        parts.append(info["cover"])
    if info["blinks_s"]:
        parts.append(f"{len(info['blinks_s'])} blinks")
    if info["motion"] != "none":
        parts.append(f"{info['motion']} {inj['motion_amount']}")
    return ", ".join(parts) or "-"


def table(results) -> str:
    lines = ["| clip | injected | face found | eye L (hold / min) | eye R (hold / min) | mouth width | "
             "corner L | corner R |",
             "|---|---|---|---|---|---|---|---|"]
    for name, info, m in results:
        lines.append(
            f"| {name} | {_injected(info)} | {100 * m['found']:.0f}% | "
            f"{_pct(m['eye_left'])} / {_pct(m['eye_left_min'])} | "
            f"{_pct(m['eye_right'])} / {_pct(m['eye_right_min'])} | {_pct(m['mouth_width'])} | "
            f"{100 * m['corner_left']:.0f}% | {100 * m['corner_right']:.0f}% |")
    return "\n".join(lines)


def eval_table(results) -> str:
    """One row per clip, with person, variant, IOD and yaw."""
    lines = ["| clip | person | variant | IOD | injected | found | eye L | eye R | mouth width | corner L | "
             "corner R | lip-chin L / R | yaw base / peak |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, info, m in results:
        yaw = f"{m['yaw_base']:+.0f} / {m['yaw_peak']:+.0f}"
        if info.get("pose_away_s"):
            yaw += f" (away: min {m['yaw_away_min']:.0f}, read >=30 {m['yaw_read_away_s']} " \
                   f"vs truth {info['pose_away_s']})"
        lines.append(
            f"| {name} | {info.get('person', '')} | {info.get('variant', '')} | {info.get('iod_px', 0):.0f} | "
            f"{_injected(info)} | {100 * m['found']:.0f}% | {_pct(m['eye_left'])} | {_pct(m['eye_right'])} | "
            f"{_pct(m['mouth_width'])} | {100 * m['corner_left']:.0f}% | {100 * m['corner_right']:.0f}% | "
            f"{_pct(m['chin_left'])} / {_pct(m['chin_right'])} | {yaw} |")
    return "\n".join(lines)


def _span(xs, pct=True) -> str:
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    if not xs:
        return "-"
    f = (lambda v: f"{100 * v:.0f}") if pct else (lambda v: f"{v:.0f}")
    return f"{f(min(xs))}..{f(max(xs))} (med {f(sorted(xs)[len(xs) // 2])})"


def summary(results) -> str:
    """Per variant: ranges of what the tracker read (percent; eyes: lid gap change)."""
    rows = defaultdict(lambda: defaultdict(list))
    for name, info, m in results:
        r = rows[info.get("variant", "?")]
        r["n"].append(1)
        r["found"].append(m["found"])
        inj = info["injected"]
        eyes, corners = inj["eye_closure_in_step"], inj["corner_pull_in_step"]
        for s in ("left", "right"):
            if inj["prime"] == "smile":
                r["prime"].append(m[f"corner_{s}"])
            (r["eye_in"] if s in eyes else r["eye_out"]).append(m[f"eye_{s}"])
            if inj["prime"] in ("closure", "brow"):
                (r["pull_in"] if s in corners else r["pull_out"]).append(m[f"corner_{s}"])
        if inj["prime"] == "pucker":
            r["prime"].append(m["mouth_width"])
        r["yaw"].append(abs(m["yaw_peak"]) if info["motion"] != "none" else None)
        if info.get("pose_away_s"):
            r["away"].append(m["yaw_away_min"])
    lines = ["| variant | clips | found min | smile corner / pucker width | narrowed eyes | other eyes | "
             "pulled corners | other corners | peak abs yaw (moving) | least abs yaw while away |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for v in VARIANTS + LOWER_VARIANTS:
        if v not in rows:
            continue
        r = rows[v]
        lines.append(f"| {v} | {len(r['n'])} | {100 * min(r['found']):.0f}% | {_span(r['prime'])} | "
                     f"{_span(r['eye_in'])} | {_span(r['eye_out'])} | {_span(r['pull_in'])} | "
                     f"{_span(r['pull_out'])} | {_span(r['yaw'], False)} | {_span(r['away'], False)} |")
    return "\n".join(lines)


def faces_table(faces: dict, check: bool, model) -> str:
    lines = ["| face | person | folder / file | IOD px | yaw (detected now) | landmark drift px |",
             "|---|---|---|---|---|---|"]
    for name, f in faces.items():
        spec = FACES[name]
        view_pts = f.points - f.origin
        yaw = drift = ""
        if check:
            from coach.core.measures import head_frame, head_pose
            lm = detect_landmarks(f.view, model)
            yaw = f"{head_pose(head_frame(lm)[1])[0]:+.1f}"
            drift = f"{float(abs(lm[:, :2] - view_pts).max()):.2f}"
        lines.append(f"| {name} | {spec.get('person', name)} | {spec.get('dir', 'media')}/{spec['file']} | "
                     f"{iod_px(view_pts):.1f} | {yaw} | {drift} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=sorted(SETS), default="default", help="which clips (default: default)")
    ap.add_argument("--out", default=None, help="output folder (default set: tests/data/generated)")
    ap.add_argument("--media", default=os.environ.get(MEDIA_ENV))
    ap.add_argument("--model", default=None, help="face model (default: COACH_FACE_MODEL)")
    ap.add_argument("--only", default="", help="only clips whose name contains this")
    ap.add_argument("--region", default="",
                    help="only clips about these regions, comma-separated (eye, mouth, chin, neck)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel jobs (default: all cores)")
    ap.add_argument("--track", action="store_true", help="write NAME.landmarks.npz for every clip")
    ap.add_argument("--measure", action="store_true", help="print what the tracker reads in every clip")
    ap.add_argument("--no-render", action="store_true", help="use the clips already there")
    ap.add_argument("--redetect", action="store_true", help="detect the neutral landmarks again")
    ap.add_argument("--check-faces", action="store_true",
                    help="detect every face again and print its IOD, yaw and drift from the cache")
    a = ap.parse_args(argv)
    if not a.media:
        ap.error(f"set {MEDIA_ENV} or pass --media")
    if a.out is None:
        if a.set != "default":
            ap.error("--out is needed for the eval set (it is rendered outside the repo)")
        a.out = str(GENERATED)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    regions = {r.strip() for r in a.region.split(",") if r.strip()}
    if regions - {"eye", "mouth", "chin", "neck"}:
        ap.error(f"--region takes eye, mouth, chin or neck, not {', '.join(sorted(regions))}")
    clips = [c for c in SETS[a.set]() if a.only in c.name and (not regions or c.region in regions)]
    names = [c.name for c in clips]
    print(f"{a.set} set: {len(clips)} clips -> {out}  (jobs {a.jobs})", flush=True)
    t_all = time.perf_counter()

    if not a.no_render or a.check_faces:
        cache = out / "faces.json"
        if a.redetect and cache.exists():
            cache.unlink()
        seed = GENERATED / "faces.json" if a.set != "default" and out.resolve() != GENERATED.resolve() else None
        depth = any(c.motion in MOTIONS_3D for c in clips)
        t0 = time.perf_counter()
        _faces.update(load_faces(a.media, sorted({c.face for c in clips}, key=list(FACES).index),
                                       cache, a.model, seed=seed, depth=depth))
        print(faces_table(_faces, a.check_faces, a.model))
        print(f"faces ready in {time.perf_counter() - t0:.1f} s", flush=True)

    if not a.no_render:
        t0 = time.perf_counter()
        # fork: the workers inherit the loaded faces.
        with mp.get_context("fork").Pool(a.jobs) as pool:
            for name, dt in pool.imap_unordered(_render, [(c, out) for c in clips]):
                print(f"  rendered {name:48s} {dt:5.1f} s", flush=True)
        print(f"rendered {len(clips)} clips in {time.perf_counter() - t0:.1f} s", flush=True)
        if not a.only and not regions:  # drop clips that are no longer in the set
            keep = set(names)
            for f in [*out.glob("*.mp4"), *out.glob("*.truth.json"), *out.glob("*" + STREAM)]:
                if f.name.split(".")[0] not in keep:
                    f.unlink()

    # The tracker runs in fresh (spawned) processes: MediaPipe does not survive a fork well.
    if a.track:
        t0 = time.perf_counter()
        with mp.get_context("spawn").Pool(a.jobs) as pool:
            for name, found, dt in pool.imap_unordered(_track, [(n, str(out), a.model) for n in names]):
                print(f"  tracked  {name:48s} {dt:5.1f} s  face in {100 * found:.0f}% of frames", flush=True)
        print(f"tracked {len(names)} clips in {time.perf_counter() - t0:.1f} s", flush=True)

    if a.measure:
        t0 = time.perf_counter()
        with mp.get_context("spawn").Pool(a.jobs) as pool:
            results = pool.map(_measure, [(n, str(out), a.model) for n in names])
        if a.set == "default":
            text = table(results)
            print(text)
            readme = out / "README.md"
            if readme.exists() and not a.only:
                s = readme.read_text()
                if START in s and END in s:
                    head, rest = s.split(START, 1)
                    readme.write_text(head + START + "\n" + text + "\n" + END + rest.split(END, 1)[1])
        else:
            print(eval_table(results))
            print()
            print(summary(results))
        print(f"measured in {time.perf_counter() - t0:.1f} s")
    print(f"total {time.perf_counter() - t_all:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
