"""`coach patient|plan|treatment`: the therapist's records of patients, plans and treatments.

Thin commands over `coach.io.store`: parse, call, print. Every one takes `--db`.
"""
from __future__ import annotations

import sys
from datetime import date

import click

from coach.commands.store import db_option, echo_table, open_store, percent, short_time
from coach.errors import CoachError


# ---- patient ---------------------------------------------------------------
@click.group()
def patient():
    """Add, list and show patients."""


CHECK_CHOICE = click.Choice(["pin", "birth-year", "none"])
check_option = click.option(
    "--kiosk-check", type=CHECK_CHOICE, default=None,
    help="A second factor the kiosk asks after the code: a short PIN or the birth year (you are asked for it).")
check_value_option = click.option("--check-value", default=None, help="The PIN or year (for scripts).")


def ask_check(kind: str | None, value: str | None) -> tuple[str | None, str | None]:
    """(kind, scrypt hash) of a second factor, asking for its value unless given; kind None: none."""
    from coach.kiosk.access import CHECK_LABELS, check_answer
    from coach.kiosk.config import hash_pin

    kind = None if kind in (None, "none") else kind.replace("-", "_")
    if kind is None:
        return None, None
    if value is None:
        value = click.prompt(f"The patient's {CHECK_LABELS[kind]}", hide_input=kind == "pin",
                             confirmation_prompt=kind == "pin")
    return kind, hash_pin(check_answer(kind, value))


@patient.command("add")
@click.argument("code")
@click.option("--name", help="Name shown on screen.")
@click.option("--affected-side", type=click.Choice(["left", "right"]), help="Patient's side with the palsy.")
@click.option("--notes", default="", help="Free text.")
@check_option
@check_value_option
@db_option
def patient_add(code, name, affected_side, notes, kiosk_check, check_value, db):
    """Add a patient with a short unique CODE (e.g. P001)."""
    kind, hashed = ask_check(kiosk_check, check_value)
    with open_store(db, write=True) as store:
        row = store.add_patient(code, name, affected_side, notes)
        if kind:
            store.set_patient_check(code, kind, hashed)
    side = f", {row['affected_side']} side affected" if row["affected_side"] else ""
    click.echo(f"Added patient {row['code']}{side}" + (f"; the kiosk asks their {kind.replace('_', ' ')}." if kind
                                                       else "."))


@patient.command("check")
@click.argument("code")
@click.option("--kiosk-check", type=CHECK_CHOICE, required=True,
              help="pin or birth-year (you are asked for it), or none to remove it.")
@check_value_option
@db_option
def patient_check(code, kiosk_check, check_value, db):
    """Set or remove the second factor the kiosk asks patient CODE after their code (stored hashed)."""
    kind, hashed = ask_check(kiosk_check, check_value)
    with open_store(db, write=True) as store:
        store.set_patient_check(code, kind, hashed)
    click.echo(f"The kiosk asks {code} for their {kind.replace('_', ' ')} after the code." if kind
               else f"The kiosk asks {code} for their code only.")


@patient.command("list")
@db_option
def patient_list(db):
    """List patients with their number of sessions."""
    with open_store(db) as store:
        rows = store.list_patients()
    if not rows:
        click.echo("No patients yet; add one with `coach patient add CODE`.")
        return
    echo_table([[r["code"], r["display_name"], r["affected_side"], r["sessions"], short_time(r["last_session"])]
                for r in rows], ["code", "name", "affected", "sessions", "last session"])


@patient.command("show")
@click.argument("code")
@db_option
def patient_show(code, db):
    """Show a patient, their plan, treatments and last session."""
    with open_store(db) as store:
        p = store.get_patient(code)
        plan = store.get_plan(code)
        treatments = store.list_treatments(code)
        last = store.last_session_summary(code)
        n_sessions = len(store.session_rows(code))
    click.echo(f"{p['code']}  {p['display_name'] or ''}".rstrip())
    click.echo(f"affected side: {p['affected_side'] or 'not set'}")
    if p["notes"]:
        click.echo(f"notes: {p['notes']}")
    click.echo(f"sessions: {n_sessions}")
    click.echo("plan:" + ("" if plan else " none"))
    for item in plan or []:
        click.echo(f"  {plan_line(item)}")
    click.echo("treatments:" + ("" if treatments else " none"))
    for t in treatments:
        click.echo(f"  {treatment_line(t)}")
    if last:
        click.echo(f"last session: {short_time(last['started'])} ({last['status']})")
        for ex, s in last["exercises"].items():
            click.echo(f"  {ex}: {s['complete']} complete reps, "
                       f"{percent(s['synkinesis_free_rate'])} synkinesis-free")


# ---- plan ----------------------------------------------------------------
def plan_line(item: dict) -> str:
    """One plan item in words; what the item leaves out comes from the exercise file."""
    parts = [f"{item['reps']} reps" if item.get("reps") else "reps",
             f"hold {item['hold_s']:g} s" if item.get("hold_s") is not None else "hold",
             f"rest {item['rest_s']:g} s" if item.get("rest_s") is not None else "rest"]
    unset = [p for p in parts if " " not in p]
    text = ", ".join(p for p in parts if " " in p)
    if unset:
        names = ", ".join(unset[:-1]) + (" and " if len(unset) > 1 else "") + unset[-1]
        text += (", " if text else "") + f"{names} from the exercise file"
    th = ", ".join(f"{k}={v:g}" for k, v in item.get("thresholds", {}).items())
    target = (f"target {item['target']:g} (set by the therapist)" if item.get("target") is not None
              else "target learned from the patient's reps")
    return f"{item['exercise']}: {text}" + (f", thresholds {th}" if th else "") + f", {target}"


def per_exercise(values: tuple, n: int, name: str) -> list:
    if not values:
        return [None] * n
    if len(values) == 1:
        return list(values) * n
    if len(values) == n:
        return list(values)
    raise CoachError(f"Give --{name} once for all exercises or once per --exercise ({n} values).")


def parse_thresholds(specs: tuple, exercises: list[str]) -> dict[str, dict]:
    """`measure=value` applies to every exercise; `exercise:measure=value` to one."""
    out: dict[str, dict] = {ex: {} for ex in exercises}
    for spec in specs:
        target, _, rest = spec.rpartition(":")
        measure, eq, value = rest.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not eq or not measure.strip() or number is None:
            raise CoachError(f"--threshold wants measure=value or exercise:measure=value, not {spec!r}.")
        if target and target not in out:
            raise CoachError(f"--threshold {spec!r} names {target}, which is not in this plan.")
        for ex in [target] if target else exercises:
            out[ex][measure.strip()] = number
    return out


def exercise_library():
    """The exercise library, or None while it is unavailable (then ids are not checked)."""
    try:
        from coach.core.exercises import load_library
    except ImportError:
        return None
    library, _errors = load_library()
    return library or None


@click.group()
def plan():
    """Set and show a patient's exercise plan (the newest plan is the active one)."""


@plan.command("set")
@click.argument("code")
@click.option("--exercise", "exercises", multiple=True, required=True, help="Exercise id; repeat for more.")
@click.option("--reps", multiple=True, type=click.IntRange(1), help="Reps (once for all, or once per exercise).")
@click.option("--hold", multiple=True, type=click.FloatRange(0), help="Hold seconds (once, or per exercise).")
@click.option("--rest", multiple=True, type=click.FloatRange(0), help="Rest seconds (once, or per exercise).")
@click.option("--threshold", "thresholds", multiple=True, metavar="[EXERCISE:]MEASURE=VALUE",
              help="Synkinesis threshold override; repeatable.")
@click.option("--target", "targets", multiple=True, type=float, metavar="FRACTION",
              help="The patient's target for the prime movement, e.g. 0.08 = 8 % of mouth width "
                   "(once, or per exercise); without it the target is learned from the patient's reps.")
@db_option
def plan_set(code, exercises, reps, hold, rest, thresholds, targets, db):
    """Give patient CODE a new plan, e.g. --exercise brow-lift --exercise snarl --reps 8."""
    exercises = list(exercises)
    n = len(exercises)
    reps, hold, rest = (per_exercise(reps, n, "reps"), per_exercise(hold, n, "hold"),
                        per_exercise(rest, n, "rest"))
    targets = per_exercise(targets, n, "target")
    th = parse_thresholds(thresholds, exercises)
    library = exercise_library()
    items = []
    for i, ex_id in enumerate(exercises):
        item = {"exercise": ex_id, "thresholds": th[ex_id]}
        if library is not None:
            if ex_id not in library:
                raise CoachError(f"Unknown exercise {ex_id!r}; known: {', '.join(sorted(library))}.")
            ex = library[ex_id]
            try:  # the library knows which measures each exercise watches
                ex = ex.with_overrides(th[ex_id] or None, reps[i], hold[i], rest[i], targets[i])
            except ValueError as exc:
                what = "target" if getattr(exc, "field", "") == "target" else "threshold"
                raise CoachError(f"Bad {what} for {ex_id}: "
                                 f"{getattr(exc, 'reason', exc)}.") from None
            item.update(reps=ex.reps, hold_s=ex.hold_s, rest_s=ex.rest_s)
        for key, value in (("reps", reps[i]), ("hold_s", hold[i]), ("rest_s", rest[i]), ("target", targets[i])):
            if value is not None:
                item[key] = value
        items.append(item)
    with open_store(db, write=True) as store:
        saved = store.set_plan(code, items)
    click.echo(f"Plan for {code}:")
    for item in saved["items"]:
        click.echo(f"  {plan_line(item)}")


@plan.command("show")
@click.argument("code")
@db_option
def plan_show(code, db):
    """Show patient CODE's active plan."""
    with open_store(db) as store:
        items = store.get_plan(code)
    if not items:
        click.echo(f"{code} has no plan yet; set one with `coach plan set {code} --exercise ID`.")
        return
    for item in items:
        click.echo(plan_line(item))


# ---- treatment -------------------------------------------------------------
def treatment_line(t: dict) -> str:
    units = f", {t['units']:g} units" if t["units"] is not None else ""
    sites = f", {t['sites']}" if t["sites"] else ""
    notes = f" ({t['notes']})" if t["notes"] else ""
    return f"{t['date']}  {t['kind']}{sites}{units}{notes}"


@click.group()
def treatment():
    """Record treatments (botulinum toxin, surgery) shown on the report."""


def interactive() -> bool:
    """Someone at a terminal to confirm (not a script, a pipe or a cron job)."""
    return sys.stdin.isatty()


@treatment.command("add")
@click.argument("code")
@click.option("--date", "day", required=True, help="YYYY-MM-DD.")
@click.option("--kind", required=True, type=click.Choice(["botulinum_toxin", "surgery", "other"]))
@click.option("--sites", default="", help="Injection sites or procedure.")
@click.option("--units", type=float, help="Dose, e.g. botulinum toxin units (above 0).")
@click.option("--notes", default="")
@db_option
def treatment_add(code, day, kind, sites, units, notes, db):
    """Record a treatment of patient CODE. A date in the future is confirmed first (refused without a terminal)."""
    from coach.io.patients import treatment_day, treatment_units

    given, future = treatment_day(day), False
    treatment_units(units)                         # a bad dose is refused before anything is asked
    if given > date.today():
        if not interactive():
            raise CoachError(f"The treatment date {given.isoformat()} is in the future; confirming it needs a "
                             "terminal, so nothing was recorded.")
        click.confirm(f"{given.isoformat()} is in the future. Record this treatment anyway?", abort=True)
        future = True
    with open_store(db, write=True) as store:
        row = store.add_treatment(code, day, kind, sites, units, notes, allow_future=future)
    click.echo(f"Recorded for {code}: {treatment_line(row)}")


@treatment.command("list")
@click.argument("code")
@db_option
def treatment_list(code, db):
    """List patient CODE's treatments."""
    with open_store(db) as store:
        rows = store.list_treatments(code)
    if not rows:
        click.echo(f"No treatments recorded for {code}.")
    for t in rows:
        click.echo(treatment_line(t))


COMMANDS = [patient, plan, treatment]
