"""`coach session void` and `coach audit`: voiding a session that should not count, and the history of
every correction. Thin commands over `coach.log.corrections`: parse, call, print."""
from __future__ import annotations

import click

from coach.commands.common import db_option, echo_table, open_store, read_db_option, read_store, short_time
from coach.errors import CoachError

WIDEST_VALUE = 60          # a longer old or new value (a whole plan) is shortened in the table
ROW_WORDS = {"patients": "patient", "plans": "plan", "treatments": "treatment", "sessions": "session"}


@click.group()
def session():
    """Correct a recorded session: void it, or count it again."""


@session.command("void")
@click.argument("session_id", metavar="ID")
@click.option("--reason", help="Why the session does not count, e.g. \"camera pointed at the ceiling\".")
@click.option("--undo", is_flag=True, help="Count the voided session again.")
@db_option
def session_void(session_id, reason, undo, db):
    """Leave session ID (the id `coach sessions` shows, or its first 6+ characters) out of every
    figure, with the reason why. It stays in the log, and `--undo` counts it again."""
    if undo and reason:
        raise CoachError("Give either --reason TEXT to void the session or --undo to count it again, not both.",
                         exit_code=2)
    if not undo and not (reason or "").strip():
        raise CoachError("Say why the session is voided with --reason TEXT (or count it again with --undo).",
                         exit_code=2)
    with open_store(db, write=True) as store:
        row = store.unvoid_session(session_id) if undo else store.void_session(session_id, reason)
    what = f"Session {row['id'][:8]} of {short_time(row['started'])}"
    click.echo(f"{what} counts again." if undo else f"{what} is voided ({row['voided']}); it no longer counts.")


def shorten(value: str | None) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= WIDEST_VALUE else text[:WIDEST_VALUE - 1] + "…"


def what_changed(row: dict) -> str:
    """E.g. "treatment 1a2b3c4d units", "patient notes"."""
    table = ROW_WORDS.get(row["row_table"], row["row_table"])
    which = "" if row["row_table"] == "patients" else f" {row['row_id'][:8]}"
    return f"{table}{which} {row['field']}"


def change_words(row: dict) -> str:
    """Old → new in words. A removal's new value is the time it was removed (the "when" column says
    it already): "listed → removed"."""
    if row["field"] == "removed":
        return "listed → removed" if row["new"] else "removed → listed"
    return f"{shorten(row['old']) or '(empty)'} → {shorten(row['new']) or '(empty)'}"


@click.command()
@click.argument("code")
@read_db_option
def audit(code, db):
    """Every correction of patient CODE's records, newest first: when, who, which command, old → new."""
    with read_store(db, code) as store:
        rows = store.audit_rows(code)
    if not rows:
        click.echo(f"No corrections recorded for {code}.")
        return
    echo_table([[short_time(r["at"]), r["actor"], r["command"], what_changed(r), change_words(r)] for r in rows],
               ["when", "who", "command", "what", "old → new"])


COMMANDS = [session, audit]
