"""Reading the session log outside coach: Datasette (`coach review`) and CSV export.

No figures are computed here: rates and trends are defined once, in
`coach.core.progress`, and shown by the report. The canned queries only count.
"""
from __future__ import annotations

import csv
import json
import os
import sqlite3
import tempfile
from pathlib import Path

from coach.errors import CoachError
from coach.io.dbfile import sql_error
from coach.io.schema import DESCRIPTIONS
from coach.io.store import Store, open_store

REVIEW_USER = "therapist"

# Queries a therapist wants in Datasette (`coach review`); `:patient` may be left empty.
CANNED_QUERIES = {
    "sessions_per_week": {
        "title": "Sessions per week",
        "description": "Sessions started per calendar week (local time), with how many were completed.",
        "sql": """SELECT p.code AS patient, strftime('%Y-W%W', substr(s.started, 1, 19)) AS week,
  count(*) AS sessions, sum(s.status = 'completed') AS completed,
  sum(s.status = 'interrupted') AS interrupted
FROM sessions s LEFT JOIN patients p ON p.id = s.patient_id
WHERE :patient = '' OR p.code = :patient
GROUP BY p.code, week ORDER BY p.code, week""",
    },
    "synkinesis_counts": {
        "title": "Complete reps and reps with synkinesis per exercise",
        "description": "Per patient and exercise: complete reps, and how many of them had synkinesis "
                       "detected. Counts only; the synkinesis-free rate and its trend are in the "
                       "report (`coach report`).",
        "sql": """SELECT p.code AS patient, st.exercise, count(*) AS complete_reps,
  sum(r.synkinesis) AS reps_with_synkinesis
FROM reps r JOIN sets st ON st.id = r.set_id JOIN sessions s ON s.id = r.session_id
  LEFT JOIN patients p ON p.id = s.patient_id
WHERE r.complete AND (:patient = '' OR p.code = :patient)
GROUP BY p.code, st.exercise ORDER BY p.code, st.exercise""",
    },
    "latest_session_reps": {
        "title": "Reps of a patient's latest session",
        "description": "Every rep of the most recent session of the given patient code.",
        "sql": """SELECT st.exercise, r.idx, r.peak, r.peak_left, r.peak_right, r.hold_s, r.hold_steadiness,
  r.synkinesis_peak, r.synkinesis, r.complete
FROM reps r JOIN sets st ON st.id = r.set_id
WHERE r.session_id = (SELECT s.id FROM sessions s JOIN patients p ON p.id = s.patient_id
                      WHERE p.code = :patient ORDER BY s.started DESC LIMIT 1)
ORDER BY st.started, r.idx""",
    },
}

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
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CoachError(f"Cannot create the folder {folder}: {exc.strerror}.") from exc
    written = []
    for name, sql in EXPORT_QUERIES.items():
        try:
            cursor = store.db.conn.execute(sql, [patient["id"]])
        except sqlite3.Error as exc:
            raise sql_error(store.path, exc) from exc
        path = folder / f"{name}.csv"
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow([d[0] for d in cursor.description])
            writer.writerows(cursor)
        written.append(path)
    return written


def datasette_metadata(path: Path, password: str | None = None) -> dict:
    """Datasette metadata: descriptions of every table and the canned queries.

    With a password, only the logged-in therapist (`REVIEW_USER`) sees anything.
    """
    meta = {
        "title": "coach session log",
        "description": "Exercise sessions, reps and synkinesis events recorded by coach. "
                       "Health records: do not share.",
        "databases": {path.stem: {"tables": DESCRIPTIONS, "queries": CANNED_QUERIES}},
    }
    if password:
        try:
            from datasette_auth_passwords.utils import hash_password
        except ImportError:
            raise CoachError("A review password needs datasette-auth-passwords; install it with "
                             "pip install 'coach[review]'.", exit_code=2) from None
        meta["plugins"] = {"datasette-auth-passwords": {f"{REVIEW_USER}_password_hash": hash_password(password)}}
        meta["allow"] = {"id": REVIEW_USER}
    return meta


def serve(db: Path | None, host: str, port: int, password: str | None = None, echo=print) -> None:
    """Serve the database read-only in Datasette with the metadata above (blocks until stopped)."""
    try:
        from datasette.cli import cli as datasette_cli
    except ImportError:
        raise CoachError("Datasette is not installed; install the review extra with "
                         "pip install 'coach[review]'.", exit_code=2) from None
    with open_store(db) as store:  # checks the file is a sound coach database first
        path = store.path.resolve()
    meta = datasette_metadata(path, password)
    with tempfile.TemporaryDirectory() as tmp:
        meta_path = Path(tmp) / "metadata.json"
        meta_path.write_text(json.dumps(meta))
        os.chmod(meta_path, 0o600)
        if password:
            echo(f"Log in at http://{host}:{port}/-/login as '{REVIEW_USER}'.")
        datasette_cli.main(["serve", str(path), "--metadata", str(meta_path), "--host", host,
                            "--port", str(port)], prog_name="datasette", standalone_mode=False)
