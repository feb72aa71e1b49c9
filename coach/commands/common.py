"""What the commands share: the `--db` options (a file, or for readers a clinic store URL), opening the
log, and printing tables, counts, times and percentages."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import click

from coach.errors import CoachError


class DbParam(click.ParamType):
    """`--db`: a file (a Path), or a postgresql:// URL kept as text (a Path would mangle its //)."""

    name = "file"

    def convert(self, value, param, ctx):
        from coach.clinic.store import is_url

        return value if value is None or isinstance(value, Path) or is_url(value) else Path(value)


db_option = click.option(
    "--db", type=DbParam(), default=None,
    help="Database file (default: $COACH_DB, else coach.db in the user data folder).")
read_db_option = click.option(
    "--db", type=DbParam(), default=None, metavar="FILE|URL",
    help="Database file (default: $COACH_DB, else coach.db in the user data folder), or the clinic "
         "store as postgresql://USER@HOST/DB (password in PGPASSWORD or ~/.pgpass).")


def local_db(db):
    """`db` when it is a file; a server URL is refused in one sentence (only some commands read one).
    A URL that click already made a Path has its `//` folded into `/`: the scheme alone gives it away."""
    from coach.clinic.store import URL_SCHEMES

    if db is not None and str(db).lower().startswith(tuple(u.rstrip("/") for u in URL_SCHEMES)):
        raise CoachError("This command works on a local database file; a postgresql:// URL is for "
                         "coach sessions, report, export, audit, due and calendar (and coach sync --to or --from).", exit_code=2)
    return db


def refuse_url(ctx, param, value):
    """`local_db` as a click callback, for the `--db` of commands that write a live session (run, demo, kiosk)."""
    return local_db(value)


def open_store(db: Path | None, write: bool = False):
    """Writers create the database; readers need it to exist and open it read-only."""
    from coach.log import store

    return store.open_store(local_db(db), write)


@contextmanager
def read_store(db, code: str | None = None):
    """A reader's store: the file, or for a postgresql:// URL a temporary copy of what the clinic
    store holds (for patient `code`, or everyone), so every figure is computed as from a file."""
    from coach.clinic import store as pg

    if not pg.is_url(db):
        with open_store(db) as store:
            yield store
        return
    with pg.mirror(db, code, set_aside=lambda reason: click.echo(reason, err=True)) as path, \
            open_store(path) as store:
        yield store


def echo_table(rows: list[list], headers: list[str]) -> None:
    cells = [headers] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def plural(n: int, word: str) -> str:
    """"1 session", "3 sessions"."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def short_time(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ")


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{100 * rate:.0f}%"


# ---- sessions, report, export -------------------------------------------------


def echo_changes(changes: dict, what: str) -> None:
    """What an edit changed, old → new, or that it changed nothing."""
    from coach.log.corrections import audit_text

    if not changes:
        click.echo(f"Nothing changed for {what}.")
    for field, (old, new) in changes.items():
        click.echo(f"{what}: {field.replace('_', ' ')} {audit_text(old) or '(empty)'} → "
                   f"{audit_text(new) or '(empty)'}")
