"""`coach sync`: send this computer's finished sessions to the clinic store (PostgreSQL).

Thin: parse, one call to `coach.clinic.sync.sync`, print. The server can come from $COACH_SYNC_URL,
so a systemd timer runs plain `coach sync`.
"""
from __future__ import annotations

import click

from coach.commands.common import db_option, local_db, plural
from coach.errors import CoachError
from coach.clinic.sync import URL_ENV


def sent_message(counts, place: str) -> str:
    """One line: what the server took, and what it already had."""
    if not counts.tables:
        return "Nothing new to send."
    added, updated, kept = counts.tables.get("sessions", (0, 0, 0))
    text = (f"Sent {plural(added + updated, 'session')} ({plural(counts.changed, 'record')} in all) to "
            f"{place}; {kept} already there.")
    if counts.remapped:      # the same code registered on two computers is one person
        text += f" Joined to the patient already registered there: {', '.join(counts.remapped)}."
    return text


def pulled_message(counts, place: str) -> str:
    """One line: what this log took from the server."""
    added, updated, _ = counts.tables.get("sessions", (0, 0, 0))
    if not counts.changed:
        return f"This log already holds everything {place} has."
    return (f"Copied {plural(added, 'session')} ({plural(counts.changed, 'record')} in all, "
            f"{plural(updated, 'newer version')} of sessions here) from {place}.")


@click.command()
@click.option("--to", "url", envvar=URL_ENV, metavar="URL",
              help=f"The clinic store, postgresql://USER@HOST/DB (default: ${URL_ENV}); "
                   "the password goes in PGPASSWORD or ~/.pgpass, never in the URL.")
@click.option("--from", "source", metavar="URL",
              help="The other way: copy the clinic store's records into this log (to correct them here, "
                   "then send the corrections back with --to).")
@click.option("--patient", help="With --from: only this patient's records.")
@db_option
@click.option("--chunk", default=20, show_default=True, type=click.IntRange(min=1),
              help="Sessions per server transaction.")
def sync(url, source, patient, db, chunk):
    """Send the finished sessions the clinic store does not have yet (running ones stay here)."""
    from coach.clinic import store as pg
    from coach.bars import as_counter, bar
    from coach.clinic.sync import pull
    from coach.clinic.sync import sync as send

    if source:
        place = pg.where(pg.parse(source))
        counts = pull(local_db(db), source, patient)
        click.echo(pulled_message(counts, place))
        for reason in counts.set_aside:          # failed the door: left on the server, named here
            click.echo(reason)
        return
    if patient:
        raise CoachError("--patient goes with --from; coach sync --to sends everything new.", exit_code=2)
    if not url:
        raise CoachError(f"Say where to send: --to postgresql://USER@HOST/DB, or set ${URL_ENV}.", exit_code=2)
    place = pg.where(pg.parse(url))
    with bar(f"Sending to {place}", unit="session") as progress:
        counts = send(local_db(db), url, sessions_per_chunk=chunk, progress=as_counter(progress))
    click.echo(sent_message(counts, place))
    for reason in counts.set_aside:              # failed the door: kept here, unsent, named
        click.echo(reason)


COMMANDS = [sync]
