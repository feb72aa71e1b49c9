"""`coach analyze`, `coach eval`, `coach bench`, `coach exercises`."""
from __future__ import annotations

import json
import math
from pathlib import Path

import click

from coach.errors import CoachError, InputError

SIDE = click.Choice(["left", "right"])


def exercise_library(extra_dirs=(), strict_id: str | None = None, warn=True):
    """The exercise library; broken files are reported, the rest still load."""
    from coach.core.exercises import load_library

    library, errors = load_library(extra_dirs)
    if warn:
        for err in errors:
            click.echo(f"coach: skipped exercise file {err}", err=True)
    if strict_id is not None and strict_id not in library:
        bad = [e for e in errors if Path(e.path).stem == strict_id]
        if bad:
            raise InputError(f"Exercise {strict_id!r} is broken: {bad[0]}")
        raise InputError(f"Unknown exercise {strict_id!r}; known: {', '.join(sorted(library))}.")
    return library


@click.command()
@click.argument("clip", type=click.Path(dir_okay=False))
@click.option("--exercise", "exercise_id", required=True, help="Exercise id, e.g. gentle-smile.")
@click.option("--affected-side", type=SIDE, default=None, help="Patient's affected side; default: watch both.")
@click.option("--baseline-s", type=click.FloatRange(0.2, 30), default=1.0, show_default=True,
              help="Seconds of neutral face at the start (after the face first appears).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the result JSON to this file, or to standard output with `--json -` (and nothing else).")
@click.option("--save-landmarks", type=click.Path(dir_okay=False), help="Write the landmark stream (.npz).")
@click.option("--exercises", "extra", multiple=True, type=click.Path(file_okay=False), help="Extra exercise folder.")
@click.option("--model", type=click.Path(dir_okay=False), help="face_landmarker.task path.")
def analyze(clip, exercise_id, affected_side, baseline_s, json_out, save_landmarks, extra, model):
    """Analyse a VIDEO or a recorded LANDMARKS stream (.npz) for reps and synkinesis."""
    from coach.analysis import analyze_file
    from coach.core.files import write_json
    from coach.bars import bar

    if not math.isfinite(baseline_s):  # click's FloatRange lets nan through
        raise InputError("--baseline-s must be a number of seconds from 0.2 to 30.")
    ex = exercise_library(extra, exercise_id)[exercise_id]
    if save_landmarks and not save_landmarks.endswith(".npz"):
        raise InputError("--save-landmarks needs a file name ending in .npz.")
    with bar(Path(clip).name, unit="frame") as progress:
        data, result = analyze_file(clip, ex, affected_side, baseline_s, model, save_landmarks, progress=progress)
    if json_out == "-":
        click.echo(json.dumps(data))
        return
    if json_out:
        write_json(json_out, data)
    click.echo(f"{data['clip']}: {data['frames']} frames ({data['face_frames']} with a face), "
               f"{len(result.reps)} rep(s), {len(result.synkinesis)} synkinesis event(s) [{ex.id}]")
    for r in result.reps:
        click.echo(f"  rep {r.index}: {r.start_s:.2f}–{r.end_s:.2f} s, peak {r.peak:.2f} of target"
                   f"{'' if r.complete else ' (not finished)'}")
    for e in result.synkinesis:
        click.echo(f"  synkinesis: {e.side} {e.measure} {e.start_s:.2f}–{e.end_s:.2f} s, peak change {e.peak_change:+.0%}")


@click.command(name="eval")
@click.argument("folder", type=click.Path(file_okay=False, exists=True), required=False)
@click.option("--landmarks/--video", default=False,
              help="Use each clip's recorded NAME.landmarks.npz instead of tracking the video.")
@click.option("--lofo", is_flag=True, help="Leave-one-face-out: choose thresholds on the other faces, score each face.")
@click.option("--jobs", type=click.IntRange(1), default=None, help="Processes (default: all cores).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write per-clip scores here.")
@click.option("--model", type=click.Path(dir_okay=False))
@click.option("--labels", "labels_of", metavar="CODE|all",
              help="Score the detector's logged flags against the therapist's labels (coach label) of patient "
                   "CODE, or of all patients, and suggest thresholds.")
@click.option("--streams", multiple=True, type=click.Path(file_okay=False, exists=True),
              help="With --labels: a folder of the sessions' saved landmark streams (to re-run at other thresholds).")
@click.option("--db", type=click.Path(dir_okay=False), default=None, help="With --labels: the database file.")
def eval_cmd(folder, landmarks, lofo, jobs, json_out, model, labels_of, streams, db):
    """Score the detector on every clip in FOLDER that has a NAME.truth.json, on an evaluation set
    (coach export --labelled FOLDER), or with --labels against the therapist's labels."""
    from coach.commands import labels

    if labels_of:
        click.echo(labels.eval_labels(labels_of, streams, db))
        return
    if folder is None:
        raise CoachError("Give a FOLDER of clips or an evaluation set, or --labels CODE.", exit_code=2)
    from coach.eval.labelset import is_set
    if is_set(folder):
        click.echo(labels.eval_set(folder))
        return
    from coach.eval.run import run_eval
    from coach.bars import as_counter, bar

    with bar("Loading clips", unit="clip") as progress:
        report = run_eval(folder, use_landmarks=landmarks, model=model, lofo=lofo, jobs=jobs,
                          progress=as_counter(progress))
    click.echo(report.text())
    if json_out:
        from coach.core.files import write_json
        write_json(json_out, report.to_json())


@click.command()
@click.argument("clip", type=click.Path(dir_okay=False, exists=True))
@click.option("--exercise", "exercise_id", default="gentle-smile", show_default=True)
@click.option("--repeat", type=click.IntRange(1, 20), default=3, show_default=True)
@click.option("--model", type=click.Path(dir_okay=False))
def bench(clip, exercise_id, repeat, model):
    """Per-stage speed on CLIP: decode, tracker, measures+detector; throughput vs bare MediaPipe."""
    from coach.eval.bench import run_bench

    ex = exercise_library((), exercise_id, warn=False)[exercise_id]
    click.echo(run_bench(clip, ex, repeat=repeat, model=model))


@click.command()
@click.option("--exercises", "extra", multiple=True, type=click.Path(file_okay=False),
              help="A therapist's own folder of exercise files (added to the built-in ones).")
def exercises(extra):
    """List and validate the exercise library."""
    from coach.core.exercises import load_library

    library, errors = load_library(extra)
    for ex in sorted(library.values(), key=lambda e: e.id):
        watch = "; ".join(f"{w.label} ({w.kind}, ≥{w.threshold:.0%})" for w in ex.watches) or "—"
        click.echo(f"{ex.id:20s} {ex.name:22s} {ex.reps} reps × {ex.hold_s:g} s hold   watches: {watch}")
    for err in errors:
        click.echo(f"error: {err}", err=True)
    if errors:
        raise CoachError(f"{len(errors)} exercise file(s) are broken; the others loaded.", exit_code=1)


COMMANDS = [analyze, eval_cmd, bench, exercises]
