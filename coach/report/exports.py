"""Exporting a patient's records for people and other programs (`coach export`).

* `export_csv`: `sessions.csv`, one plain row per session and exercise (`coach.core.summary`),
  and beside it the raw tables, one `raw-TABLE.csv` each, with the patient's rows as stored.
* `export_xlsx`: one workbook, the "Sessions" sheet first, then the raw tables but samples.
* `export_fhir`: a FHIR R4 transaction Bundle (`coach.report.fhir`).

No figures are computed here: the summary rows come from the rows the report is built from
(`coach.report.data.gather`), and every rate is defined once, in `coach.core.progress`.
"""
from __future__ import annotations

import csv
import json
import os
import sqlite3
from datetime import date
from pathlib import Path

from coach.core import summary
from coach.core.exercises import load_library
from coach.core.files import write_atomic, write_text
from coach.errors import CoachError
from coach.core.files import private_folder
from coach.log.file import sql_error
from coach.log.store import Store

SUMMARY_NAME = "sessions"            # sessions.csv and the workbook's first sheet ("Sessions")
RAW_PREFIX = "raw-"                  # raw-sessions.csv, raw-reps.csv, …: the tables as stored
# Which of the patient's rows each raw table holds (`?` = patient id).
_IN_SESSIONS = "session_id IN (SELECT id FROM sessions WHERE patient_id = ?)"
EXPORT_QUERIES = {
    "patient": "SELECT * FROM patients WHERE id = ?",
    "plans": "SELECT * FROM plans WHERE patient_id = ? ORDER BY created",
    "treatments": "SELECT * FROM treatments WHERE patient_id = ? ORDER BY date",
    "sessions": "SELECT * FROM sessions WHERE patient_id = ? ORDER BY started",
    "calibrations": f"SELECT * FROM calibrations WHERE {_IN_SESSIONS} ORDER BY session_id, t",
    "sets": f"SELECT * FROM sets WHERE {_IN_SESSIONS} ORDER BY started",
    "reps": f"SELECT * FROM reps WHERE {_IN_SESSIONS} ORDER BY session_id, start_s",
    "rep_evenness": f"SELECT * FROM rep_evenness WHERE rep_id IN (SELECT id FROM reps WHERE {_IN_SESSIONS}) "
                    "ORDER BY rep_id",
    "events": f"SELECT * FROM events WHERE {_IN_SESSIONS} ORDER BY session_id, start_s",
    "samples": f"SELECT * FROM samples WHERE {_IN_SESSIONS} ORDER BY session_id, t",
}
NOT_IN_WORKBOOK = ("samples",)       # ~10 rows a second: more than a sheet holds (1,048,576 rows)
# A text cell starting with one of these is a formula to a spreadsheet (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A CSV cell no spreadsheet runs: text that starts like a formula gets a leading single quote
    (shown as text, the quote hidden). Only text: the numbers coach writes (ints and floats, such as a
    negative co-movement) stay numbers. A number a row holds as text ("-0.12" in a text column, or
    in a numeric one from another program) is text, so it is quoted too, and opens as the text it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def summary_rows(store: Store, code: str, library: dict | None = None) -> tuple[dict, list[dict]]:
    """The patient row and one summary row per session and exercise, from the rows the report uses."""
    from coach.report.data import gather

    if library is None:
        library = load_library()[0]
    data = gather(store, code, date.today(), library)
    return data.patient, summary.session_rows(data.sessions, data.sets, data.reps, data.name, data.events,
                                              data.library)


def _raw_tables(store: Store, patient_id: str, skip=()):
    """(table, column names, rows) of each raw table, in EXPORT_QUERIES order."""
    tables = set(store.db.table_names())
    for name, sql in EXPORT_QUERIES.items():
        if name in skip or (name == "rep_evenness" and name not in tables):    # older logs have no evenness
            continue
        try:
            cursor = store.db.conn.execute(sql, [patient_id])
        except sqlite3.Error as exc:
            raise sql_error(store.path, exc) from exc
        yield name, [d[0] for d in cursor.description], cursor


def _write(path: Path, write) -> Path:
    try:
        write_atomic(path, write)                   # 0600: health data
    except OSError as exc:
        raise CoachError(f"Cannot write {path}: {exc.strerror}.") from exc
    return path


def _write_csv(path: Path, header: list[str], rows) -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow([csv_cell(v) for v in header])
            writer.writerows([csv_cell(v) for v in row] for row in rows)
    return _write(path, write)


def export_csv(store: Store, code: str, folder: str | os.PathLike, library: dict | None = None) -> list[Path]:
    """Write sessions.csv and one raw-TABLE.csv per table with the patient's rows; returns the files."""
    patient, rows = summary_rows(store, code, library)
    folder = Path(folder)
    try:
        private_folder(folder)                      # a folder made here is 0700, each file 0600
    except OSError as exc:
        raise CoachError(f"Cannot create the folder {folder}: {exc.strerror}.") from exc
    plain = [summary.plain(r) for r in rows]
    written = [_write_csv(folder / f"{SUMMARY_NAME}.csv", list(summary.COLUMNS.values()),
                          ([row[c] for c in summary.COLUMNS.values()] for row in plain))]
    for name, header, cursor in _raw_tables(store, patient["id"]):
        written.append(_write_csv(folder / f"{RAW_PREFIX}{name}.csv", header, cursor))
    return written


def export_xlsx(store: Store, code: str, path: str | os.PathLike, library: dict | None = None) -> Path:
    """One workbook: the "Sessions" sheet (as sessions.csv), then one sheet per raw table but samples."""
    try:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    except ImportError:
        raise CoachError('Writing a workbook needs openpyxl: install coach[xlsx] (pip install "coach[xlsx]").') \
            from None
    patient, rows = summary_rows(store, code, library)
    book = Workbook(write_only=True)

    def sheet(title: str, header: list[str], values) -> None:
        ws = book.create_sheet(title[:31])           # Excel's limit on sheet names
        for line in [header, *values]:
            cells = []
            for v in line:
                cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v)
                if isinstance(v, str):
                    cell.data_type = "s"             # text stays text: "=…" in a note is never a formula
                cells.append(cell)
            ws.append(cells)

    columns = list(summary.COLUMNS.values())
    sheet(SUMMARY_NAME.capitalize(), columns, ([summary.plain(r)[c] for c in columns] for r in rows))
    for name, header, cursor in _raw_tables(store, patient["id"], skip=NOT_IN_WORKBOOK):
        sheet(f"{RAW_PREFIX}{name}", header, cursor)
    return _write(Path(path), book.save)


def export_fhir(store: Store, code: str, path: str | os.PathLike, *, with_name: bool = False,
                system: str | None = None, library: dict | None = None) -> tuple[Path, int]:
    """Write the patient's FHIR R4 transaction Bundle; returns the file and its number of Observations."""
    from coach.report import fhir

    patient, rows = summary_rows(store, code, library)
    bundle = fhir.bundle(patient, rows, with_name=with_name, system=system or fhir.PATIENT_SYSTEM)
    # Only finite numbers (`fhir.components` leaves the others out): JSON has no NaN or Infinity.
    text = json.dumps(bundle, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    path = Path(path)
    try:
        write_text(path, text)
    except OSError as exc:
        raise CoachError(f"Cannot write {path}: {exc.strerror}.") from exc
    return path, sum(e["resource"]["resourceType"] == "Observation" for e in bundle["entry"])
