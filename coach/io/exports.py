"""Exporting a patient's records for people and other programs (`coach export`).

No figures are computed here: rates are defined once, in `coach.core.progress`.
"""
from __future__ import annotations

import csv
import os
import sqlite3
from pathlib import Path

from coach.core.files import write_atomic
from coach.errors import CoachError
from coach.io.dbfile import private_folder, sql_error
from coach.io.store import Store

# Which of the patient's rows each exported CSV holds (`?` = patient id).
_IN_SESSIONS = "session_id IN (SELECT id FROM sessions WHERE patient_id = ?)"
EXPORT_QUERIES = {
    "patient": "SELECT * FROM patients WHERE id = ?",
    "plans": "SELECT * FROM plans WHERE patient_id = ? ORDER BY created",
    "treatments": "SELECT * FROM treatments WHERE patient_id = ? ORDER BY date",
    "sessions": "SELECT * FROM sessions WHERE patient_id = ? ORDER BY started",
    "calibrations": f"SELECT * FROM calibrations WHERE {_IN_SESSIONS} ORDER BY session_id, t",
    "sets": f"SELECT * FROM sets WHERE {_IN_SESSIONS} ORDER BY started",
    "reps": f"SELECT * FROM reps WHERE {_IN_SESSIONS} ORDER BY session_id, start_s",
    "events": f"SELECT * FROM events WHERE {_IN_SESSIONS} ORDER BY session_id, start_s",
    "samples": f"SELECT * FROM samples WHERE {_IN_SESSIONS} ORDER BY session_id, t",
}


def export_csv(store: Store, code: str, folder: str | os.PathLike) -> list[Path]:
    """Write one CSV per table with the patient's rows; returns the files written."""
    patient = store.get_patient(code)
    folder = Path(folder)
    try:
        private_folder(folder)                      # a folder made here is 0700, each file 0600
    except OSError as exc:
        raise CoachError(f"Cannot create the folder {folder}: {exc.strerror}.") from exc
    written = []
    for name, sql in EXPORT_QUERIES.items():
        try:
            cursor = store.db.conn.execute(sql, [patient["id"]])
        except sqlite3.Error as exc:
            raise sql_error(store.path, exc) from exc
        path = folder / f"{name}.csv"

        def write(tmp: str, cursor=cursor) -> None:
            with open(tmp, "w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow([d[0] for d in cursor.description])
                writer.writerows(cursor)
        try:
            write_atomic(path, write)
        except OSError as exc:
            raise CoachError(f"Cannot write {path}: {exc.strerror}.") from exc
        written.append(path)
    return written
