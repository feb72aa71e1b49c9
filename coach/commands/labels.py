"""`coach label CODE`: the therapist labels a patient's reps; and the helpers of `coach eval --labels`
(thin: parse, call, print; `coach export --labelled` is in coach.commands.store)."""
from __future__ import annotations

import shlex
from pathlib import Path

import click

from coach.commands.common import db_option, open_store
from coach.errors import CoachError

streams_option = click.option(
    "--streams", "streams", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="A folder of landmark streams saved with coach run --save-landmarks; repeatable.")


def replays(streams):
    from coach.screen.labeller import Replays

    return Replays(list(streams))


@click.command()
@click.argument("code")
@streams_option
@click.option("--sample", type=click.IntRange(0), default=None,
              help="Unflagged reps to show besides every flagged one (default: as many as are flagged, at least 10).")
@click.option("--seed", type=int, default=None, help="Seed of the sample and the order (to repeat a round).")
@click.option("--events", type=click.Path(dir_okay=False, exists=True),
              help="Scripted keys and touches (JSON lines), instead of the keyboard.")
@click.option("--shots", type=click.Path(file_okay=False, path_type=Path), help="Save a picture of each rep here.")
@click.option("--fullscreen", is_flag=True)
@db_option
def label(code, streams, sample, seed, events, shots, fullscreen, db):
    """Go through patient CODE's reps, each replayed as the mesh, and label them: Y or N (co-movement),
    L, R or B (the patient's side), 1 eye, 2 brow, 3 mouth, 4 chin, 5 neck; Enter next, Backspace back, Esc stop."""
    from coach.core.labelling import Labelling
    from coach.log.labels import reps_to_label, set_label
    from coach.screen import labeller

    script = labeller.load_script(events) if events else None
    with open_store(db, write=True) as store:
        reps = reps_to_label(store, code, sample, seed)
        if not reps:
            raise CoachError(f"{code} has no finished reps to label yet.")
        tool = labeller.LabelTool(Labelling(reps), replays(streams),
                                  lambda lab: set_label(store, lab["rep_id"], lab["label"], lab["side"],
                                                        lab["region"]))
        labeller.run(tool, script, shots, fullscreen)
        done, total = tool.state.progress()
    click.echo(f"{len(tool.state.saved)} label(s) saved this time; {done} of the {total} reps shown are labelled.")


def plan_command(store, code: str, exercise: str, measure: str, value: float) -> str:
    """The `coach plan set` that gives `exercise` the threshold `value` and keeps the rest of the plan."""
    items = store.get_plan(code) or [{"exercise": exercise}]
    if exercise not in [it.get("exercise") for it in items]:
        items = items + [{"exercise": exercise}]
    words = ["coach", "plan", "set", code]
    for it in items:
        words += ["--exercise", it["exercise"]]
        for option, key in (("--reps", "reps"), ("--hold", "hold_s"), ("--rest", "rest_s"), ("--target", "target")):
            if it.get(key) is not None:
                words += [option, f"{it[key]:g}"]
        thresholds = dict(it.get("thresholds") or {})
        if it["exercise"] == exercise:
            thresholds[measure] = value
        words += [w for m, v in thresholds.items() for w in ("--threshold", f"{m}={v:g}")]
    return " ".join(shlex.quote(w) for w in words)


def eval_labels(who: str, streams, db) -> str:
    """`coach eval --labels CODE|all`: the printout."""
    from coach.commands.records import exercise_library
    from coach.eval.labels import report
    from coach.eval.labelset import from_log

    with open_store(db) as store:
        code = None if who == "all" else who
        if code:
            store.get_patient(code)
        items = from_log(store, code, replays(streams))
        return report(items, exercise_library() or {},
                      lambda p, e, m, v: plan_command(store, p, e, m, v))


def eval_set(folder) -> str:
    """`coach eval SET`: the printout of an evaluation set."""
    from coach.commands.records import exercise_library
    from coach.eval.labels import report
    from coach.eval.labelset import read_set

    return report(read_set(Path(folder)), exercise_library() or {})


COMMANDS = [label]
