"""`coach patient|plan`: the therapist's records of patients and their plans (treatments: treatments.py).

Thin commands over `coach.log.store`: parse, call, print. Every one takes `--db`.
"""
from __future__ import annotations

import click

from coach.commands.common import db_option, echo_changes, echo_table, open_store, percent, short_time
from coach.commands.treatments import treatment_line
from coach.errors import CoachError


# ---- patient ---------------------------------------------------------------
@click.group()
def patient():
    """Add, edit, list and show patients."""


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


@patient.command("edit")
@click.argument("code")
@click.option("--name", help="Name shown on screen.")
@click.option("--affected-side", type=click.Choice(["left", "right"]), help="Patient's side with the palsy.")
@click.option("--notes", help="Free text (replaces the notes).")
@db_option
def patient_edit(code, name, affected_side, notes, db):
    """Correct patient CODE's details; every change is kept in the audit history (coach audit CODE)."""
    if name is None and affected_side is None and notes is None:
        raise CoachError("Say what to change: --name, --affected-side or --notes.", exit_code=2)
    with open_store(db, write=True) as store:
        changes = store.edit_patient(code, display_name=name, affected_side=affected_side, notes=notes)
    echo_changes(changes, code)


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
    echo_last_session(last)


def echo_last_session(last: dict | None) -> None:
    if last:
        click.echo(f"last session: {short_time(last['started'])} ({last['status']})")
        for ex, s in last["exercises"].items():
            click.echo(f"  {ex}: {s['complete']} complete reps, "
                       f"{percent(s['synkinesis_free_rate'])} synkinesis-free")


# ---- plan ----------------------------------------------------------------
AMOUNTS = (("reps", "reps", "{:g} reps"), ("hold_s", "hold", "hold {:g} s"), ("rest_s", "rest", "rest {:g} s"))


def amounts_line(item: dict) -> str:
    """Reps, hold and rest in words; what the item leaves out comes from the exercise file."""
    given = [fmt.format(item[key]) for key, _, fmt in AMOUNTS if item.get(key) is not None]
    unset = [name for key, name, _ in AMOUNTS if item.get(key) is None]
    if unset:
        names = ", ".join(unset[:-1]) + (" and " if len(unset) > 1 else "") + unset[-1]
        given.append(f"{names} from the exercise file")
    return ", ".join(given)


def plan_line(item: dict) -> str:
    """One plan item in words."""
    text = amounts_line(item)
    th = ", ".join(f"{k}={v:g}" for k, v in item.get("thresholds", {}).items())
    target = (f"target {item['target']:g} (set by the therapist)" if item.get("target") is not None
              else "target learned from the patient's reps")
    return f"{item['exercise']}: {text}" + (f", thresholds {th}" if th else "") + f", {target}"


# Options that belong to one exercise when given after its --exercise (param name -> flag, plan key).
PER_EXERCISE = {"reps": ("--reps", "reps"), "hold": ("--hold", "hold_s"), "rest": ("--rest", "rest_s"),
                "targets": ("--target", "target")}
ORDER_KEY = "coach.option_order"


class OrderedCommand(click.Command):
    """A command that also keeps the order its options were given in, as `ctx.meta[ORDER_KEY]`:
    [(param name, value), ...]. Click keeps each repeated option's values in order, but not which
    came before which across options, and `plan set` needs that."""

    def parse_args(self, ctx, args):
        # A throwaway first parse for the order only (the parser consumes its list: give it a copy).
        _, _, order = self.make_parser(ctx).parse_args(args=list(args))
        rest = super().parse_args(ctx, args)
        values = {name: list(v) for name, v in ctx.params.items() if isinstance(v, tuple)}
        ctx.meta[ORDER_KEY] = [(p.name, values[p.name].pop(0)) for p in order if values.get(p.name)]
        return rest


def plan_scopes(pairs: list) -> tuple[dict, list[tuple[str, dict]], list[tuple[int | None, str]]]:
    """From the options in command-line order: the settings for every exercise (given before the first
    --exercise), each exercise with its own settings (given after it), and the thresholds, each with
    the position of the exercise it follows (None: before the first)."""
    common: dict = {}
    chosen: list[tuple[str, dict]] = []
    thresholds: list[tuple[int | None, str]] = []
    for name, value in pairs:
        if name == "exercises":
            chosen.append((value, {}))
        elif name == "thresholds":
            thresholds.append((len(chosen) - 1 if chosen else None, value))
        elif name in PER_EXERCISE:
            scope = chosen[-1][1] if chosen else common
            if name in scope:
                where = f"after --exercise {chosen[-1][0]}" if chosen else "before the first --exercise"
                raise CoachError(f"{PER_EXERCISE[name][0]} is given twice {where}; give it once before the "
                                 "first --exercise for all exercises, or once after an --exercise for that one.")
            scope[name] = value
    return common, chosen, thresholds


def threshold_spec(spec: str) -> tuple[str, str, float]:
    """(exercise or '', measure, value) of `[exercise:]measure=value`."""
    target, _, rest = spec.rpartition(":")
    measure, eq, value = rest.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not eq or not measure.strip() or number is None:
        raise CoachError(f"--threshold wants measure=value or exercise:measure=value, not {spec!r}.")
    return target, measure.strip(), number


def parse_thresholds(specs: list[tuple[int | None, str]], exercises: list[str]) -> list[dict]:
    """Each exercise's thresholds, by position: `exercise:measure=value` applies to that exercise
    wherever it is given; `measure=value` to the exercise it follows, or to all before the first."""
    out: list[dict] = [{} for _ in exercises]
    for position, spec in specs:
        target, measure, number = threshold_spec(spec)
        if target and target not in exercises:
            raise CoachError(f"--threshold {spec!r} names {target}, which is not in this plan.")
        if target:
            positions = [i for i, ex in enumerate(exercises) if ex == target]
        else:
            positions = list(range(len(exercises))) if position is None else [position]
        for i in positions:
            out[i][measure] = number
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


def plan_item(ex_id: str, settings: dict, thresholds: dict, library) -> dict:
    """One plan item; with the exercise library at hand, checked against it and completed from it."""
    values = {key: settings.get(name) for name, (_, key) in PER_EXERCISE.items()}
    item = {"exercise": ex_id, "thresholds": thresholds}
    if library is not None:
        if ex_id not in library:
            raise CoachError(f"Unknown exercise {ex_id!r}; known: {', '.join(sorted(library))}.")
        try:  # the library knows which measures each exercise watches
            ex = library[ex_id].with_overrides(thresholds or None, values["reps"], values["hold_s"],
                                               values["rest_s"], values["target"])
        except ValueError as exc:
            what = "target" if getattr(exc, "field", "") == "target" else "threshold"
            raise CoachError(f"Bad {what} for {ex_id}: {getattr(exc, 'reason', exc)}.") from None
        item.update(reps=ex.reps, hold_s=ex.hold_s, rest_s=ex.rest_s)
    item.update({key: value for key, value in values.items() if value is not None})
    return item


@plan.command("set", cls=OrderedCommand)
@click.argument("code")
@click.option("--exercise", "exercises", multiple=True,
              help="Exercise id; repeat for more, each followed by its own options. Without any, the "
                   "current plan's exercises are kept (to change only --review-weeks or --practice).")
@click.option("--reps", multiple=True, type=click.IntRange(1), help="Reps.")
@click.option("--hold", multiple=True, type=click.FloatRange(0), help="Hold seconds.")
@click.option("--rest", multiple=True, type=click.FloatRange(0), help="Rest seconds.")
@click.option("--threshold", "thresholds", multiple=True, metavar="[EXERCISE:]MEASURE=VALUE",
              help="Synkinesis threshold override; repeatable. With EXERCISE: for that exercise wherever given.")
@click.option("--target", "targets", multiple=True, type=float, metavar="FRACTION",
              help="The patient's target for the prime movement, e.g. 0.08 = 8 % of mouth width; "
                   "without it the target is learned from the patient's reps.")
@click.option("--review-weeks", type=click.IntRange(1, 52), default=None, metavar="N",
              help="The clinic review comes N weeks after the last botulinum toxin injection (default 12; "
                   "sooner when the effect is seen wearing off). Kept when a new plan leaves it out.")
@click.option("--practice", default=None, metavar="\"DAYS HH:MM\"",
              help="When the patient practises, e.g. \"Mon-Fri 18:00\" or \"daily 19:00\", for `coach "
                   "calendar`. Kept when a new plan leaves it out.")
@db_option
@click.pass_context
def plan_set(ctx, code, exercises, reps, hold, rest, thresholds, targets, review_weeks, practice, db):
    """Give patient CODE a new plan; the order of the options matters.

    --reps, --hold, --rest, --target and --threshold given after an --exercise apply to that
    exercise only; given before the first --exercise they apply to every exercise (an exercise's
    own value wins). For example

    \b
      coach plan set P017 --hold 3 --exercise gentle-smile --reps 8 --hold 4 \\
            --exercise gentle-eye-closure --reps 5

    gives the smile 8 reps held 4 s and the eye closure 5 reps held 3 s.
    `coach plan set P017 --review-weeks 10 --practice "Mon-Fri 18:00"` keeps the exercises.
    """
    from coach.core.care import CareError, care_settings, plan_care

    common, chosen, specs = plan_scopes(ctx.meta[ORDER_KEY])
    if not chosen and (common or specs):
        raise CoachError("--reps, --hold, --rest, --target and --threshold need an --exercise.", exit_code=2)
    if not chosen and review_weeks is None and practice is None:
        raise CoachError("Say which exercises (--exercise ID), or what to change (--review-weeks, --practice).",
                         exit_code=2)
    try:
        given = care_settings({"review_weeks": review_weeks, "practice": practice})
    except CareError as exc:
        raise CoachError(str(exc), exit_code=2) from None
    ids = [ex_id for ex_id, _ in chosen]
    th = parse_thresholds(specs, ids)
    library = exercise_library()
    items = [plan_item(ex_id, {**common, **own}, th[i], library) for i, (ex_id, own) in enumerate(chosen)]
    with open_store(db, write=True) as store:
        current = store.get_plan(code)
        if not items and not current:
            raise CoachError(f"{code} has no plan yet; give its exercises with --exercise ID.", exit_code=2)
        items = [{k: v for k, v in item.items() if k != "care"} for item in (items or current)]
        care = {**plan_care(current), **given}
        if care:
            items[0] = {**items[0], "care": care}
        saved = store.set_plan(code, items)
    click.echo(f"Plan for {code}:")
    for item in saved["items"]:
        click.echo(f"  {plan_line(item)}")
    echo_care(saved["items"])


def echo_care(items, indent: str = "  ") -> None:
    """The plan's review interval and practice times, in words."""
    from coach.core.care import REVIEW_WEEKS, parse_practice, plan_care

    care = plan_care(items)
    weeks = care.get("review_weeks")
    click.echo(f"{indent}review: {weeks or REVIEW_WEEKS} weeks after the last botulinum toxin injection"
               + ("" if weeks else " (the default)"))
    if care.get("practice"):
        click.echo(f"{indent}practice: {parse_practice(care['practice']).words()}")


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
    echo_care(items, indent="")


COMMANDS = [patient, plan]
