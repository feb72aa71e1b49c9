"""`coach treatment`: the treatments that affect the face (botulinum toxin, surgery), drawn on the report's
trends: add, list, edit and remove (a removal is kept as a tombstone). Thin commands over `coach.log.store`.
"""
from __future__ import annotations

import sys
from datetime import date

import click

from coach.commands.common import db_option, echo_changes, open_store
from coach.core.sites import SITE_CHOICES, with_sites
from coach.errors import CoachError


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


def future_ok(day: str | None) -> bool:
    """False for a date up to today; True once someone at a terminal confirms a later date. A bad date
    is refused here, and a later one without a terminal, before anything is written."""
    from coach.log.patients import treatment_day

    if day is None:
        return False
    given = treatment_day(day)
    if given <= date.today():
        return False
    if not interactive():
        raise CoachError(f"The treatment date {given.isoformat()} is in the future; confirming it needs a "
                         "terminal, so nothing was recorded.")
    click.confirm(f"{given.isoformat()} is in the future. Record this treatment anyway?", abort=True)
    return True


class TreatmentKind(click.ParamType):
    """botulinum_toxin, surgery or other; a toxin's product or generic name (Botox, Dysport, Xeomin,
    Bocouture, Azzalure, Vistabel, Letybo, Daxxify, onabotulinumtoxinA, …) means botulinum_toxin. The
    name given is kept in ctx.meta["kind_alias"], so the command can say what it was taken as."""

    name = "kind"

    def get_metavar(self, param, *args, **kw) -> str:
        return "[botulinum_toxin|surgery|other]"

    def convert(self, value, param, ctx):
        from coach.log.patients import treatment_alias
        from coach.log.schema import TREATMENT_KINDS

        kind = treatment_alias(str(value))
        if kind is None:
            self.fail(f"{value!r} is not a treatment kind: use {', '.join(TREATMENT_KINDS)} (a toxin's product "
                      "name, such as botox or dysport, means botulinum_toxin).", param, ctx)
        if kind != value and ctx is not None:
            ctx.meta["kind_alias"] = (value, kind)
        return kind


KIND_CHOICE = TreatmentKind()
# The fixed vocabulary of injection sites (coach.core.sites), each side; repeat the option for several.
SITE_OPTION = click.option("--site", multiple=True, type=click.Choice(list(SITE_CHOICES)),
                           help="An injection site from the list (repeat for more); written before --sites' text.")


def echo_alias() -> None:
    """"botox" was taken as botulinum_toxin: say so."""
    given = click.get_current_context().meta.get("kind_alias")
    if given:
        click.echo(f"Kind: {given[0]!r} taken as {given[1]}.")


@treatment.command("add")
@click.argument("code")
@click.option("--date", "day", required=True, help="YYYY-MM-DD.")
@click.option("--kind", required=True, type=KIND_CHOICE, help="A product name (Botox, Dysport, Xeomin, …) means botulinum_toxin.")
@click.option("--sites", default="", help="Injection sites or procedure, in your words.")
@SITE_OPTION
@click.option("--units", type=float, help="Dose, e.g. botulinum toxin units (above 0).")
@click.option("--notes", default="")
@db_option
def treatment_add(code, day, kind, sites, site, units, notes, db):
    """Record a treatment of patient CODE. A date in the future is confirmed first (refused without a terminal)."""
    from coach.log.patients import treatment_units

    sites = with_sites(site, sites) or ""
    treatment_units(units)                         # a bad dose is refused before anything is asked
    future = future_ok(day)
    with open_store(db, write=True) as store:
        row = store.add_treatment(code, day, kind, sites, units, notes, allow_future=future)
    echo_alias()
    click.echo(f"Recorded for {code}: {treatment_line(row)}")


@treatment.command("list")
@click.argument("code")
@db_option
def treatment_list(code, db):
    """List patient CODE's treatments, each with its short id (for edit and remove)."""
    with open_store(db) as store:
        rows = store.list_treatments(code)
    if not rows:
        click.echo(f"No treatments recorded for {code}.")
    for t in rows:
        click.echo(f"{t['id'][:8]}  {treatment_line(t)}")


@treatment.command("edit")
@click.argument("code")
@click.argument("treatment_id", metavar="ID")
@click.option("--date", "day", help="YYYY-MM-DD.")
@click.option("--kind", type=KIND_CHOICE, help="A product name (Botox, Dysport, Xeomin, …) means botulinum_toxin.")
@click.option("--sites", help="Injection sites or procedure, in your words.")
@SITE_OPTION
@click.option("--units", type=float, help="Dose, e.g. botulinum toxin units (above 0).")
@click.option("--notes")
@db_option
def treatment_edit(code, treatment_id, day, kind, sites, site, units, notes, db):
    """Correct treatment ID of patient CODE (the id `coach treatment list` shows); kept in the audit history.
    --site (or --sites) replaces the sites recorded."""
    from coach.log.patients import treatment_units

    sites = with_sites(site, sites)
    if all(v is None for v in (day, kind, sites, units, notes)):
        raise CoachError("Say what to change: --date, --kind, --sites, --site, --units or --notes.", exit_code=2)
    treatment_units(units)
    future = future_ok(day)
    with open_store(db, write=True) as store:
        changes = store.edit_treatment(code, treatment_id, date=day, kind=kind, sites=sites, units=units,
                                       notes=notes, allow_future=future)
    echo_alias()
    echo_changes(changes, f"treatment {treatment_id}")


@treatment.command("remove")
@click.argument("code")
@click.argument("treatment_id", metavar="ID")
@db_option
def treatment_remove(code, treatment_id, db):
    """Remove treatment ID of patient CODE (a wrong entry): left off the report, kept in the history."""
    with open_store(db, write=True) as store:
        row = store.remove_treatment(code, treatment_id)
    click.echo(f"Removed from {code}: {treatment_line(row)}")


COMMANDS = [treatment]
