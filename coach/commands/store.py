"""`coach sessions|report|export|review`: the therapist's tools that read the log.

Thin commands over `coach.log.store`, `coach.log.review` and `coach.report`: parse, call, print.
Every one takes `--db`. Commands that only read open the database read-only.
"""
from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

import click

from coach.commands.common import (db_option, echo_table, local_db, open_store, percent, read_db_option, read_store,
                                   short_time)
from coach.errors import CoachError

PASSWORD_ENV = "COACH_REVIEW_PASSWORD"


@click.command()
@click.option("--patient", "code", help="Only this patient's sessions.")
@read_db_option
def sessions(code, db):
    """List recorded sessions, oldest first, with their rep counts and synkinesis-free rate. A voided
    session is listed as "voided: REASON" (it counts nowhere else; `coach session void ID --undo`)."""
    with read_store(db, code) as store:
        rows = store.sessions(code, include_voided=True)
    if not rows:
        click.echo("No sessions recorded.")
        return
    echo_table([[short_time(r["started"]), r["patient_code"] or "-", r["kind"],
                 f"voided: {r['voided']}" if r["voided"] else r["status"], r["n_sets"],
                 r["n_reps"], percent(r["synkinesis_free_rate"]), r["id"][:8]] for r in rows],
               ["started", "patient", "kind", "status", "sets", "reps", "synk-free", "id"])


def report_name(code: str) -> str:
    """The default report file: `report-CODE.html` in this folder, the code made safe for a file
    name (a code such as ../x cannot lead anywhere else)."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", code).strip("_") or "patient"
    return f"report-{safe}.html"


@click.command()
@click.argument("code")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="HTML file (default report-CODE.html).")
@read_db_option
def report(code, out, db):
    """Write patient CODE's progress report: one self-contained, printable HTML file (owner-only)."""
    from coach.core.files import write_text
    from coach.bars import bar
    from coach.report.build import build_report

    with read_store(db, code) as store, bar(f"Report for {code}", unit="section") as progress:
        html = build_report(store, code, progress=progress)
    out = out or Path(report_name(code))
    try:
        write_text(out, html)                      # atomic, and 0600: it is health data
    except OSError as exc:
        raise CoachError(f"Cannot write {out}: {exc.strerror}.") from exc
    click.echo(f"Wrote {out}")


def check_export(folder, workbook, fhir_file, fhir_options) -> None:
    if not (folder or workbook or fhir_file):
        raise CoachError("Say what to write: --csv FOLDER, --xlsx FILE or --fhir FILE.", exit_code=2)
    if fhir_options and not fhir_file:
        raise CoachError("--with-name and --system are for --fhir FILE only.", exit_code=2)


@click.command()
@click.argument("code", required=False)
@click.option("--labelled", type=click.Path(file_okay=False, path_type=Path),
              help="Write an anonymised evaluation set (landmark streams and the therapist's labels, no names or "
                   "codes) of CODE's labelled reps, or everyone's without CODE; coach eval FOLDER reads it.")
@click.option("--streams", multiple=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="With --labelled: a folder of the sessions' saved landmark streams; repeatable.")
@click.option("--csv", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for sessions.csv (one row per session and exercise) and raw-TABLE.csv files.")
@click.option("--xlsx", "workbook", type=click.Path(dir_okay=False, path_type=Path),
              help="One workbook: a Sessions sheet, then one sheet per table (samples left out: too many "
                   "rows for a sheet; use --csv). Needs coach[xlsx].")
@click.option("--fhir", "fhir_file", type=click.Path(dir_okay=False, path_type=Path),
              help="A FHIR R4 transaction Bundle (JSON): Patient, Device, one Observation per session and exercise.")
@click.option("--with-name", is_flag=True, help="Put the patient's name in the FHIR Patient (default: code only).")
@click.option("--system", metavar="URI", help="The clinic's patient identifier system for FHIR "
                                              "(default: a local urn:coach:patient-code).")
@read_db_option
def export(code, labelled, streams, folder, workbook, fhir_file, with_name, system, db):
    """Export patient CODE's records: CSV files, a workbook and/or a FHIR Bundle (all owner-only)."""
    from coach.report import exports

    if labelled:
        from coach.eval.labelset import export_set
        from coach.screen.labeller import Replays

        with open_store(db) as store:
            if code:
                store.get_patient(code)
            n, with_stream = export_set(store, code, Replays(list(streams)), labelled)
        click.echo(f"Wrote an anonymised evaluation set of {n} labelled rep(s), {with_stream} with their landmark "
                   f"stream, to {labelled} (coach eval {labelled} reads it).")
        return
    if not code:
        raise CoachError("Give the patient's CODE.", exit_code=2)
    check_export(folder, workbook, fhir_file, with_name or system)
    with read_store(db, code) as store:
        if folder:
            files = exports.export_csv(store, code, folder)
            click.echo(f"Wrote {len(files)} files to {folder}: {', '.join(f.name for f in files)}")
        if workbook:
            click.echo(f"Wrote {exports.export_xlsx(store, code, workbook)}")
        if fhir_file:
            path, n = exports.export_fhir(store, code, fhir_file, with_name=with_name, system=system)
            click.echo(f"Wrote {path}: a FHIR transaction Bundle with {n} observations")


# ---- review ------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
@click.option("--password", "ask_password", is_flag=True,
              help=f"Ask for a password (or set ${PASSWORD_ENV}); required off this computer.")
@db_option
def review(host, port, ask_password, db):
    """Browse the session log in Datasette (read-only), with canned queries."""
    password = os.environ.get(PASSWORD_ENV) or None
    if ask_password and not password:
        password = click.prompt("Password for user 'therapist'", hide_input=True, confirmation_prompt=True)
    if not is_loopback(host) and not password:
        raise CoachError(f"Refusing to serve health records on {host} without a password; "
                         f"use --password or ${PASSWORD_ENV}.", exit_code=2)
    from coach.log.review import serve

    serve(local_db(db), host, port, password, echo=click.echo)


COMMANDS = [sessions, report, export, review]
